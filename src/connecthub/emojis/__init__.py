"""Custom emojis: admin-managed images shown for `:shortcode:` in statuses and profiles."""
