"""The HTTP API: ``assay serve``, a thin shell over the same operations the command line calls.

Handlers parse a request, call one operation as the signed-in person and shape its answer; every
rule, role check and state change lives in :mod:`audits` and :mod:`certificates`. Errors come
back as RFC 9457 problem documents (:mod:`api.problems`). Processes keep nothing between requests
but a rate limiter's counts: sessions, tokens and everything else are in the store, so any number
of servers can share one PostgreSQL database.
"""
