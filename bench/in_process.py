"""Measurements of the bot in the bench's own process (`bench.harness`): each step's MongoDB
commands and sequential round trips, counted by pymongo's command monitoring, and how
/help and the event loop fare while many users keep the database busy."""

import asyncio
import statistics
from typing import Any

from bench.critical_path import rounds
from bench.harness import COMMAND_LOG, SCRIPT, bot_stack, run_scripts

STEPS = ["/help", "/start", "Ada", "/me", "/rename", "Grace", "/rename", "/cancel"]
STEPS += ["/forget", "yes"]
"""One user's steps, each counted after the previous one's traffic is over."""
Row = dict[str, Any]


async def step_round_trips(uri: str, isolation: str = "local") -> list[Row]:
    """Per step of STEPS: its commands, and the sequential round trips they make."""
    measured = []
    async with bot_stack(uri, "ours", isolation=isolation) as stack:
        for text in STEPS:
            before = len(COMMAND_LOG.spans)
            await stack.send(7, text)
            await settled()
            spans = [s for s in COMMAND_LOG.spans[before:] if s.database == stack.database]
            ordered = sorted(spans, key=lambda s: s.start)
            measured.append(
                {"step": text, "commands": [s.command for s in ordered], "rounds": rounds(spans)}
            )
    return measured


async def settled(gap: float = 0.05) -> None:
    """Until no command has been pending for `gap`: a write the handling left running in
    the background is the step's too."""
    quiet_since = asyncio.get_running_loop().time()
    while asyncio.get_running_loop().time() - quiet_since < gap:
        await asyncio.sleep(gap / 5)
        if COMMAND_LOG.pending():
            quiet_since = asyncio.get_running_loop().time()


async def responsiveness(uri: str, variant: str, seconds: float = 6.0) -> Row:
    """/help latency and event-loop lag while 64 users run database-bound scripts."""
    async with bot_stack(uri, variant) as stack:
        await run_scripts(stack, 4, 1, first_user=9_000_000)
        stopping = asyncio.Event()
        lags: list[float] = []
        helps: list[float] = []

        async def ticker() -> None:
            loop = asyncio.get_running_loop()
            while not stopping.is_set():
                due = loop.time() + 0.001
                await asyncio.sleep(0.001)
                lags.append(max(0.0, loop.time() - due))

        async def load(index: int) -> None:
            n = 0
            while not stopping.is_set():
                user = 1 + index * 1000 + n
                for text in SCRIPT:
                    await stack.send(user, text.format(name=f"User {user}"))
                n += 1

        async def prober() -> None:
            while not stopping.is_set():
                helps.append(await stack.send(8_000_000 + len(helps), "/help"))
                await asyncio.sleep(0.02)

        tasks = [asyncio.create_task(load(i)) for i in range(64)]
        tasks += [asyncio.create_task(ticker()), asyncio.create_task(prober())]
        await asyncio.sleep(seconds)
        stopping.set()
        await asyncio.gather(*tasks)
    return {
        "help_p50": pct(helps, 50) * 1000,
        "help_p99": pct(helps, 99) * 1000,
        "lag_p50": pct(lags, 50) * 1000,
        "lag_p99": pct(lags, 99) * 1000,
        "lag_max": max(lags) * 1000,
        "probes": len(helps),
    }


def pct(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return (
        statistics.quantiles(values, n=100, method="inclusive")[p - 1] if p < 100 else max(values)
    )
