"""`make bench`: throughput, responsiveness, round trips and cost growth of the real bot."""
