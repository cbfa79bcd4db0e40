"""Webhooks: tenant endpoints, signed deliveries of every event (Standard Webhooks), retries
on a schedule and dead letters."""
