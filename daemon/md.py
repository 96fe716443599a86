"""Handlers for the md actions (standard library only)."""
