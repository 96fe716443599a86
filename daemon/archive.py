"""Handlers for the archive actions (standard library only)."""
