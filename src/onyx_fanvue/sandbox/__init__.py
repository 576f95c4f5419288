"""The Fanvue sandbox: an offline, seeded, fault-injectable Fanvue (API + OAuth server) for tests and demos.

Needs the ``sandbox`` extra (``pip install 'onyx-fanvue[sandbox]'``). Built up across several steps; see
``docs/sandbox.md`` for what exists so far.
"""
