"""Adapters to the outside world: MongoDB, settings, the embedded database server."""
