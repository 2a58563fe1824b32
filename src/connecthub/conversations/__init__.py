"""Direct messages grouped into conversations, with unread state per participant."""
