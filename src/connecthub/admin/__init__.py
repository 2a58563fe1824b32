"""Moderators' admin API for accounts: Mastodon's /api/v1 and /api/v2 admin/accounts."""
