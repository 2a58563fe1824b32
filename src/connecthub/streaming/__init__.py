"""Real-time delivery: the Mastodon streaming API over WebSocket and SSE, and presence."""
