"""OAuth 2.0 server as Mastodon serves it: apps, authorization codes, bearer tokens and scopes."""
