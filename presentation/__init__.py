"""Everything Telegram-facing, in three parts: `telegram` (the bot's behaviour),
`entrypoints` (how updates arrive) and `bootstrap` (how the process is wired)."""
