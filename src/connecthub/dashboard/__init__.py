"""The admin dashboard's figures: Mastodon's measures, dimensions and retention."""
