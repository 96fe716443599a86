"""Handlers for the content actions (standard library only)."""
