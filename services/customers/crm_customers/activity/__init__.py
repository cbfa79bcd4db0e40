"""A customer's activity timeline: its own changes (written by the customers service in the same
transaction) and other services' events about it (the `customers-activity` consumer)."""
