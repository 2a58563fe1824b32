"""Web Push: Mastodon's push subscriptions and the notifications sent to them."""
