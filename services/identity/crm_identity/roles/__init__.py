"""Roles: the permission catalogue, built-in and custom roles, and a user's effective access."""
