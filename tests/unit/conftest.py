"""Unit tests do not depend on the caller's environment: a user who exports
GUESTKIT_BACKEND_SETTINGS=force_tcg (or any LIBGUESTFS_* variable) runs them unchanged."""

import os

import pytest

_PREFIXES = ("GUESTKIT_", "LIBGUESTFS_", "SUPERMIN_")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith(_PREFIXES) or name == "TMPDIR":
            monkeypatch.delenv(name)
