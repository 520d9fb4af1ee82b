"""Ours against the raw driver on the local database (no proxy): the registrations per second
our bot process reaches through the whole HTTP path, and those a plain pymongo loop reaches
sending the very commands ours sends per registration (recorded at the proxy in the
whole-path run), each registration's commands one after another, as many registrations in
flight as users there. The gap is what the bot's machinery costs where the database is
near: the event loop, aiogram, the executor, the Bot API calls.
"""

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from pymongo import MongoClient

from bench.bot_processes import OURS
from bench.commands_replay import for_user, replayable
from bench.conversing import DATABASE, registrations
from bench.database import fresh_database
from bench.http_path import IN_FLIGHT, polling_bot
from bench.mode import Mode

Row = dict[str, Any]
Say = Callable[[str], None]


def raw_registrations(
    uri: str, mix: list[dict[str, Any]], recorded_user: int, in_flight: int, each: int
) -> Row:
    """`in_flight` threads each send `mix` for `each` new users, one after another."""
    client: MongoClient[dict[str, Any]] = MongoClient(uri, maxPoolSize=in_flight + 4)
    database = client[DATABASE]
    client.admin.command("ping")
    failures = [0] * in_flight
    ready = threading.Barrier(in_flight + 1)

    def work(index: int) -> None:
        ready.wait()
        for n in range(each):
            user = 1 + index * each + n
            for command in mix:
                reply = database.command(for_user(command, recorded_user, user))
                failures[index] += bool(reply.get("writeErrors"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(in_flight)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    client.close()
    return {"reg_s": in_flight * each / elapsed, "failed": sum(failures)}


def measure(recorded: Row, mode: Mode, say: Say) -> Row:
    """`recorded`: the whole-path run's count of ours (`one_at_a_time`), with the commands
    of one registration and its user."""
    mix = [replayable(command) for command in recorded["registration_commands"]]
    user = recorded["recorded_user"]
    raw: list[float] = []
    ours: list[float] = []
    failed = 0
    for run in range(mode.runs):
        with fresh_database(None) as database:
            row = raw_registrations(database.uri, mix, user, IN_FLIGHT, mode.registrations_each + 1)
        raw.append(row["reg_s"])
        failed += row["failed"]
        with polling_bot(OURS, None) as setup:
            setup.run(registrations(setup.talk, IN_FLIGHT, 1, first_user=9_000_000))
            loaded = setup.run(
                registrations(setup.talk, IN_FLIGHT, mode.registrations_each + 1, first_user=1)
            )
        ours.append(loaded["reg_s"])
        failed += loaded["failed"]
        say(
            f"  run {run + 1}: raw pymongo {raw[-1]:.1f} reg/s"
            f" ({len(mix)} commands each), ours {ours[-1]:.1f} reg/s"
        )
    return {
        "commands": [next(iter(c)) for c in mix],
        "raw_reg_s": statistics.median(raw),
        "ours_reg_s": statistics.median(ours),
        "failed": failed,
    }
