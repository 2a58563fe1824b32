"""Explore: trends (hashtags, posts and links rising now), the profile directory and
follow suggestions (Mastodon's `/api/v1/trends/*`, `/api/v1/directory`, `/api/v2/suggestions`
and the admin trends review)."""
