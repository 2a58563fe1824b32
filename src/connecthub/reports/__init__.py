"""Reports: people (and the system) flag accounts and statuses; moderators work the queue."""
