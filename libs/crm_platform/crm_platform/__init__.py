"""Shared platform library: settings, tenancy, outbox/inbox over NATS, gRPC edges, auth, jobs, scheduler,
mailer."""
