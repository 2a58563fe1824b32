"""Engines behind small interfaces, each with an embedded and a distributed implementation."""
