"""ConnectHub: a social platform server that speaks the Mastodon client API."""

__version__ = "0.1.0"
# The Mastodon API version we are compatible with; clients parse the leading number.
MASTODON_API_COMPAT = "4.3.0"
