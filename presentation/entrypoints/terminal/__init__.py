"""The bot in a terminal: `chat` reads lines and prints replies, through the same
dispatcher, handlers and storage; `local_session` answers its Bot API calls in-process
(the tests use it too); `choices` shows buttons as numbered choices."""
