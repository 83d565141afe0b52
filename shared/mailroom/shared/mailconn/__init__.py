"""Opening SMTP, IMAP and POP3 connections, and saying exactly why one fails.

This is the one place in Mailroom that talks to mail servers at the connection
level: the sender, the watcher and the API's connection test all come through
here, so TLS trust, the aioimaplib workarounds and the failure wording are
written once.
"""
