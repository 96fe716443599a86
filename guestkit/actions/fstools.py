"""Daemon actions: fstools (see docs/api.md)."""

from .table import *  # noqa: F401,F403

ACTIONS = []
