"""Long polling: `serve` runs it under the poller lease (standby otherwise), `acknowledged`
confirms an update to Telegram only once handled, `lease_gate` stops fetching when the
lease cannot be kept."""
