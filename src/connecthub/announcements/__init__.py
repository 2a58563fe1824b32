"""Announcements: admin-written notices with dismissals and emoji reactions."""
