"""Blocks an operator sets against sign-ups and sign-ins: IP ranges, e-mail domains and
canonical e-mail addresses (Mastodon's admin routes; docs/denylists.md)."""
