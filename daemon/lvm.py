"""Handlers for the lvm actions (standard library only)."""
