"""`make bench`: the real bot's speed, round trips, CPU and memory, against reference bots
and the raw driver; see docs/benchmarks.md."""
