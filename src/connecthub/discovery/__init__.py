"""Search (and, later, suggestions and trends)."""
