"""Webhook endpoints: where a tenant wants events sent, and the secret that signs them."""
