"""Users talking to bot processes through `LocalBotApi`: many registering at once, for
throughput, and one at a time, for each step's sequential MongoDB round trips (counted at
the latency proxy) and a registration's latency. Every coroutine here runs on the Bot API
stand-in's loop (`LocalBotApi.run`)."""

import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench.critical_path import rounds
from bench.local_bot_api import Deliver, LocalBotApi
from bench.wire_log import WireLog

NAME = "User {user}"
REGISTRATION = ("/start", NAME)
HELP = "/help"
STEPS = (*REGISTRATION, HELP)
"""What each user sends when round trips are counted."""
REGISTERED = "Nice to meet you"
"""How every bot measured here (ours in English, the reference bots) starts its answer to a
good name: any other answer is a failed registration (an apology, say)."""
BACKGROUND = frozenset({"leases"})
"""Collections whose commands run beside the updates, not for them: the poller lease."""
DATABASE = "bench"


def label(step: str) -> str:
    """A step as the report names it."""
    return "name" if step == NAME else step


Row = dict[str, Any]


@dataclass(frozen=True)
class Talk:
    api: LocalBotApi
    deliver: Deliver | None = None
    """None: users' messages go to getUpdates; else they are posted to webhooks with it."""

    async def register(self, user: int) -> tuple[float, bool]:
        """Register `user`: the seconds from /start to the answer to the name, and whether
        that answer says they are registered."""
        started = time.perf_counter()
        await self.api.say(user, "/start", self.deliver)
        sending_name = time.perf_counter()
        answer = await self.api.say(user, NAME.format(user=user), self.deliver)
        return sending_name - started + answer.seconds, answer.text.startswith(REGISTERED)


async def registrations(talk: Talk, in_flight: int, each: int, first_user: int) -> Row:
    """`in_flight` users at a time register, each slot `each` users one after another:
    registrations per second, the p50 registration, and how many failed."""
    latencies: list[float] = []
    failed = 0

    async def slot(index: int) -> None:
        nonlocal failed
        for n in range(each):
            seconds, ok = await talk.register(first_user + index * each + n)
            latencies.append(seconds)
            failed += not ok

    started = time.perf_counter()
    await asyncio.gather(*(slot(i) for i in range(in_flight)))
    elapsed = time.perf_counter() - started
    return {
        "reg_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "registrations": len(latencies),
        "failed": failed,
    }


async def one_at_a_time(talk: Talk, wire: WireLog, users: list[int], gap: float) -> Row:
    """Each of `users` in turn registers, then each sends /help; after each step the traffic
    is let settle for `gap` (a write after the reply is still the step's). Per step: its
    sequential round trips (the most any user needed; `spread` has the least and the most)
    and its commands; per registration: the round trips and the p50 latency (the time to
    /start's answer plus the time to the name's: a write after a reply, which a fast
    typist's next step would wait for, is in the round trips but not here). If the wire
    log keeps commands whole, also the first user's registration's commands."""
    per_step: dict[str, list[int]] = {step: [] for step in STEPS}
    commands: dict[str, list[str]] = {}
    latencies = []
    kept: list[dict[str, Any]] = []
    slowest = 0.0

    async def step(user: int, text: str) -> float:
        nonlocal slowest
        await wire.quiet(gap)
        mark, kept_mark = wire.mark(), len(wire.commands)
        reply = await talk.api.say(user, text.format(user=user), talk.deliver)
        await wire.quiet(gap)
        spans = wire.since(mark, DATABASE, ignore=BACKGROUND)
        per_step[text].append(rounds(spans))
        slowest = max([slowest, *(s.end - s.start for s in spans)])
        commands[text] = [s.command for s in sorted(spans, key=lambda s: s.start)]
        if user == users[0] and text in REGISTRATION:
            kept.extend(wire.commands_since(kept_mark, DATABASE, ignore=BACKGROUND))
        return reply.seconds

    for user in users:
        latencies.append(sum([await step(user, text) for text in REGISTRATION]))
    for user in users:  # apart: a step right after a quick /help is no registration's cost
        await step(user, HELP)
    step_rounds = {text: max(counts) for text, counts in per_step.items()}
    return {
        "rounds": step_rounds,
        "spread": {text: (min(c), max(c)) for text, c in per_step.items()},
        "commands": commands,
        "registration_rounds": sum(step_rounds[text] for text in REGISTRATION),
        "p50_ms": statistics.median(latencies) * 1000,
        "registration_commands": kept,
        "recorded_user": users[0],
        "slowest_command_ms": slowest * 1000,
    }
