"""The web pages: server-rendered (Jinja2) pages for the people who use Assay in a browser, in
English and Chinese, served by ``assay serve`` beside the HTTP API. A third thin shell: each page
calls the same operations the API calls; templates only lay out what those return."""
