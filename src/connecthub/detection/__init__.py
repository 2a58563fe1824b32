"""Automated detection of abuse and spam: offensive-language scores and spam heuristics,
decided in jobs, answered with system reports (docs/detection.md)."""
