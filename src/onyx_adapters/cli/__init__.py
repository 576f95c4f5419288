"""The ``onyx`` command: the adapters' entry points, kept apart from the adapters they use.

Nothing else in ``onyx_adapters`` imports this package (an import-linter contract keeps it so): entry points
parse arguments, call the composition root and the use cases, and format what comes back.
"""

from __future__ import annotations

from onyx_adapters.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
