"""Duplicate customers: match keys kept on every write, checks on create/update (warn or block),
the tenant-wide scan job and its groups (docs/customers.md, "Duplicates")."""
