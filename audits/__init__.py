"""Audit engagements: roles, verifications, review and decision, the persistent store.

Empty until the engagement issue lands; the engine never imports it.
"""
