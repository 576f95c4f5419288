"""The Onyx web service: a Litestar app over the core use cases (:func:`onyx_web.app.create_app`).

One folder per domain (``health/``, ``accounts/``, …), each with the controllers, schemas and guards it needs;
``errors`` (every error answer is ``application/problem+json``), ``headers`` (security headers on every answer),
``request_id`` and ``runtime`` (what the app holds while it serves) are shared by all of them.
"""
