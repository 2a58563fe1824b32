"""Scheduled statuses: posts kept with their parameters until a job publishes them."""
