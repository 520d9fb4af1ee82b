"""The composition root: the one place that names concrete adapters, builds the `Bot` and
the `Dispatcher`, and starts and stops them in order."""
