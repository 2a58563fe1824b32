"""Content filters (Mastodon's v2 filters, and the v1 view of them): keywords and statuses
that mark or hide statuses in the contexts a viewer chose."""
