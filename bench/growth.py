"""Growth: whether a registration's round trips and latency stay flat as the users stored
grow (1k against 20k; 100k is beyond this test server, whose upserts scan the collection),
and whether the bot's memory grows with the users it has served or only with those in
flight and its capped memories of recent users (its RSS at two counts of users served, both
past those caps, set low with RECENT_USERS_KEPT: this test server slows down too much past
about 10,000 users registered to go past the default caps).

The stored users are copies of what the bot itself wrote for one user (its profile and its
conversation's record, `bench.commands_replay`), inserted straight into the database, so
they look like the real thing whatever the schema. The database is local; the proxy in
front of it adds DELAY, just enough for commands sent together to be seen together.
"""

import time
from collections.abc import Callable
from typing import Any

from pymongo import MongoClient

from bench.bot_processes import OURS
from bench.commands_replay import for_user, mentions
from bench.conversing import BACKGROUND, DATABASE, one_at_a_time, registrations
from bench.http_path import IN_FLIGHT, PollingSetup, polling_bot
from bench.mode import Mode

Row = dict[str, Any]
Say = Callable[[str], None]
TEMPLATE_USER = 4_000_000
FIRST_STORED = 10_000_000
BATCH = 10_000
GAP = 0.1
DELAY = 0.002
"""Each way: with none, two commands sent together may each be answered before the other
leaves, and count as two round trips."""
RECENT_USERS_KEPT = 500


def store_users(setup: PollingSetup, count: int) -> float:
    """Register TEMPLATE_USER through the bot, then store `count` copies of every document
    that mentions them; the seconds the inserts took."""
    setup.run(setup.talk.register(TEMPLATE_USER))
    client: MongoClient[dict[str, Any]] = MongoClient(setup.database.direct_uri, tz_aware=True)
    database = client[DATABASE]
    started = time.perf_counter()
    for name in database.list_collection_names():
        if name in BACKGROUND:
            continue
        templates = [d for d in database[name].find() if mentions(d, TEMPLATE_USER)]
        for template in templates:
            for first in range(FIRST_STORED, FIRST_STORED + count, BATCH):
                users = range(first, min(first + BATCH, FIRST_STORED + count))
                copies = [for_user(template, TEMPLATE_USER, user) for user in users]
                database[name].insert_many(copies, ordered=False)
    client.close()
    return time.perf_counter() - started


def measure(mode: Mode, say: Say) -> Row:
    """Round trips and p50 of a registration with each count of users `mode.stored`; the
    bot's memory after each count of `mode.served` users (in the first setup)."""
    found: dict[int, Row] = {}
    memory: Row = {}
    for count in mode.stored:
        with polling_bot(OURS, DELAY) as setup:
            seconds = store_users(setup, count)
            # A few, one round of the client's pool: the test server takes seconds for each
            # write to a conversation among 100k (see `measure`'s slowest command).
            setup.run(registrations(setup.talk, 4, 1, first_user=9_000_000))
            users = [5_000_000 + n for n in range(mode.growth_users)]
            counted = setup.run(one_at_a_time(setup.talk, setup.database.wire, users, GAP))
            found[count] = {
                "registration_rounds": counted["registration_rounds"],
                "p50_ms": counted["p50_ms"],
                "rounds": counted["rounds"],
                "slowest_command_ms": counted["slowest_command_ms"],
            }
            say(
                f"  {count:,} users stored (in {seconds:.0f} s): registration"
                f" {counted['registration_rounds']} round trips, p50 {counted['p50_ms']:.1f} ms,"
                f" slowest command {counted['slowest_command_ms']:.0f} ms"
            )
    with polling_bot(OURS, DELAY, RECENT_USERS_KEPT=str(RECENT_USERS_KEPT)) as setup:
        memory = served_memory(setup, mode.served, say) | {"kept": RECENT_USERS_KEPT}
    return {"stored": found, "memory": memory}


def served_memory(setup: PollingSetup, users: tuple[int, int], say: Say) -> Row:
    """The bot's RSS after `users[0]` and after `users[1]` distinct users registered, with
    `IN_FLIGHT` of them at a time."""
    rss, served = [], []
    done = 0
    for total in users:
        each = max(1, (total - done) // IN_FLIGHT)
        setup.run(registrations(setup.talk, IN_FLIGHT, each, first_user=20_000_000 + done))
        done += each * IN_FLIGHT
        time.sleep(1)  # the last writes land
        rss.append(setup.bot.rss_mb())
        served.append(done)
        say(f"  RSS after {done:,} users registered: {rss[-1]:.1f} MB")
    return {"users": served, "rss_mb": rss}
