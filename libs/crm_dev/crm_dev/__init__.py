"""Local runner: embedded PostgreSQL and NATS, every service and the gateway on free ports."""
