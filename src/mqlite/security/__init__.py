"""Security shared by every front-end: the one user model, TLS, failed-login slowdown.

A layer beside `protocols`: protocols (and the server) may import it; it imports only
`mqlite.errors` and `mqlite.settings`. `users` is the user model, `tls` the server's SSL
context (and `tls_auto` its self-made CA), `throttle` slows repeated failed logins,
`startup` states each listener's auth mode and refuses an open non-loopback server.
"""
