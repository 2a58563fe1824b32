"""Privacy: consent records (and, later, export, deletion and retention)."""
