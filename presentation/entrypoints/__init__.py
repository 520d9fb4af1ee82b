"""The ways updates reach the bot, one folder per front end: `polling/`, `webhook/` and
`terminal/`. Beside them, what they share: the `profilebot` command (`cli`), stop signals
(`interruption`), publishing the command menu (`bot_startup`) and the health and metrics
endpoints (`health_endpoints`)."""
