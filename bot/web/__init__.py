"""The per-message path: a WeChat request in, a reply out.

webhook (check, decrypt, parse) -> handling (ledger, reply budget, the router)
-> outgoing (the reply's XML); ledger records each message once; verify is the
public page a certificate links to.
"""
