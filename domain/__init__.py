"""The profile bot's domain: users and their names, free of any framework or database."""
