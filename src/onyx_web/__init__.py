"""The Onyx web service: a small Litestar app over the core use cases (arrives with the web issue)."""
