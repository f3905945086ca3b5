"""The console (``/console``): a third front door, for people in a browser.

Its pages are routes the pipeline serves like any other (authenticate, load,
run an operation, audit, answer); the door differs only in where the caller
comes from (a session cookie, not a header) and in the dialect of its answers
(HTML pages under a strict Content-Security-Policy, redirects, downloads).
"""
