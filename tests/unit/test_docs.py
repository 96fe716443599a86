"""The API reference is generated from the table and must be current."""

import os

from guestkit.docgen import render
from guestkit.actions import ACTIONS

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "api.md")


def test_api_reference_is_up_to_date():
    with open(DOCS) as f:
        assert f.read() == render(), "run: python -m guestkit.docgen > docs/api.md"


def test_every_action_is_documented():
    text = render()
    for name, a in ACTIONS.items():
        assert "## %s\n" % name in text
        assert a.doc in text
