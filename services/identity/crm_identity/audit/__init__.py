"""The tenant's append-only audit log (docs/identity.md#audit-log)."""
