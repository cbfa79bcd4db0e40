"""Invitations: invited users choose their own password through a one-time emailed link."""
