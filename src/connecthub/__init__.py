"""ConnectHub: a social platform server that speaks the Mastodon client API."""

__version__ = "0.1.0"
# The Mastodon version whose features we serve; clients parse the leading number and turn
# features on by it. 4.2: grouped notifications (/api/v2/notifications, 4.3) are served, the
# rest of 4.3 not yet.
MASTODON_API_COMPAT = "4.2.0"
