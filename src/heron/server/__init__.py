"""The tracking server: an ASGI app from ``create_app(settings)``, served by uvicorn.

Nothing in ``heron``'s client imports this package.
"""
