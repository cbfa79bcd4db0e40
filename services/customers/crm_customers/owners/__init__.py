"""Customer owners: the users who own customers, by name (from identity's user events)."""
