"""``python -m onyx_adapters.cli``: the same as the ``onyx`` command."""

from __future__ import annotations

import sys

from onyx_adapters.cli.main import main

sys.exit(main())
