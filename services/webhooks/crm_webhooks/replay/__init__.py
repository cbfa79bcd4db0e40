"""Replays: one delivery sent again, or every delivery of an endpoint in a time range (a job)."""
