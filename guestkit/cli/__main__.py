"""``python -m guestkit.cli``: the same as the ``guestkit`` command."""

import sys

from .main import main

sys.exit(main())
