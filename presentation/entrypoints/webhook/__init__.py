"""The webhook: `serve` answers Telegram's POSTs (several replicas may), `registration`
tells Telegram where to deliver (`set-webhook`, `delete-webhook`)."""
