"""Onyx adapters: implementations of the core ports (SQL, the Fanvue gateway, cipher, locks, jobs) and the CLI."""
