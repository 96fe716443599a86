"""Handlers for the luks actions (standard library only)."""
