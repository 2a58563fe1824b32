"""Timelines: home (fan-out on write), public, hashtag, lists, markers."""
