"""Handlers for the fstools actions (standard library only)."""
