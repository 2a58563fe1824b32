"""Strikes (Mastodon's AccountWarning: the record of a moderation action an account holder
can read) and their appeals."""
