#!/bin/bash
# Remake every generated document after a change to the action table, the shell's options
# or the tool registry: the API reference, the man pages, the bash completion and the
# type stub of GuestFS (guestkit/handle.pyi).
# Unit tests (tests/unit/test_docs.py, test_manpages.py) fail until they are current.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
"$PY" -m guestkit.docgen > docs/api.md
"$PY" -m guestkit.manpages docs/man
mkdir -p docs/completion
"$PY" -m guestkit.completion > docs/completion/guestkit
"$PY" -m guestkit.stubgen > guestkit/handle.pyi
