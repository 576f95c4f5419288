"""One module per benchmark case; each has ``CASE`` (a :class:`bench.harness.Case`)."""
