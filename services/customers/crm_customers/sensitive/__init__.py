"""Sensitive customer fields: resident ID and bank card, encrypted at rest under a per-tenant data
key, found by blind index, masked on every read, revealed only by an audited call."""
