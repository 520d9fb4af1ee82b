"""The ways updates reach the bot: the `profilebot` command, long polling, the webhook and
the terminal chat with its in-process Bot API session."""
