"""The bot's behaviour: what it answers and how every update is treated on the way.

It knows aiogram and the use cases, and nothing of MongoDB or the container: handlers name
the use cases they need by string id (`Provide["register_user"]`), and whoever wires the
process decides what stands behind each id.
"""
