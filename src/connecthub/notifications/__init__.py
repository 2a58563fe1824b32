"""Notifications: mention, status, reblog, follow, follow_request, favourite, poll, update."""
