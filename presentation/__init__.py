"""Telegram-facing side: routers, handlers, the CLI and the composition root."""
