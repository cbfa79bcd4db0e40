"""Deliveries: one row per (endpoint, event), sent by a job with retries and a dead letter."""
