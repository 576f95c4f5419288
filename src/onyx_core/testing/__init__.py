"""Public test kit: in-memory fakes of every port, hypothesis strategies and stateful machines.

Use it to check your own adapters against the same rules Onyx checks its own with. Needs ``hypothesis``
for :mod:`onyx_core.testing.strategies` and :mod:`onyx_core.testing.machines`.
"""
