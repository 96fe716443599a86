"""Handlers for the meta actions (standard library only)."""
