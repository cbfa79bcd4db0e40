"""Customers' projection of tagging's customer tags, for the list's tag filter (docs/customers.md)."""
