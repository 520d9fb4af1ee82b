"""`make bench`: prints every figure and writes bench/results.md and bench/throughput.png.

Each measurement gets a fresh in-memory server (SecantusDB slows as it absorbs writes),
and the variants are interleaved level by level, so they see the same machine conditions.
"""

import asyncio
import datetime as dt
import gc
import inspect
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from bench import webhook_processes
from bench.harness import LEVELS, SCRIPT, bot_stack, run_scripts
from bench.latency_proxy import LatencyProxy
from bench.report import write_report
from bench.variants import VARIANTS
from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.mongo_user_repository import USER_ID_INDEX

ISOLATION_LEVELS = (8, 32)
DELAY = float(os.environ.get("BENCH_DELAY_MS", "20")) / 1000
OUT = Path(__file__).parent
Row = dict[str, Any]


def say(text: str = "") -> None:
    print(text, flush=True)


@contextmanager
def fresh_server(behind_proxy: bool) -> Iterator[str]:
    server = EmbeddedMongo(data_dir=None)
    server.start(timeout_seconds=60)
    try:
        if behind_proxy:
            with LatencyProxy(server.port, DELAY) as proxy:
                yield f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"
        else:
            yield server.uri
    finally:
        server.stop()


def users_each(concurrency: int, behind_proxy: bool) -> int:
    if behind_proxy:
        return {1: 3, 8: 2}.get(concurrency, 1)
    return {1: 20, 8: 6, 32: 3}.get(concurrency, 2)


async def throughput(
    uri: str, variant: str, concurrency: int, behind_proxy: bool, isolation: str = "local"
) -> Row:
    async with bot_stack(uri, variant, isolation=isolation) as stack:
        await run_scripts(stack, 4, 1, first_user=9_000_000)  # warm-up: connections, caches
        before = len(stack.commands())
        started = time.perf_counter()
        sent = await run_scripts(stack, concurrency, users_each(concurrency, behind_proxy), 1)
        seconds = time.perf_counter() - started
        ops = len(stack.commands()) - before
    return {"updates_s": sent / seconds, "ops_s": ops / seconds, "updates": sent}


def raw_ceiling(uri: str, threads: int, seconds: float = 3.0) -> float:
    """Raw pymongo find_one + update_one per thread, as fast as it goes: ops/s."""
    client: MongoClient[dict[str, Any]] = MongoClient(uri, maxPoolSize=threads + 4)
    states = client["bench_raw"]["fsm_states"]
    states.insert_many([{"_id": f"k{i}", "state": None} for i in range(threads)])
    done = [0] * threads
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        while time.perf_counter() < stop:
            states.find_one({"_id": f"k{i}"})
            states.update_one({"_id": f"k{i}"}, {"$set": {"state": str(done[i])}})
            done[i] += 2

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    client.close()
    return sum(done) / elapsed


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


async def round_trips(uri: str, isolation: str = "local") -> list[tuple[str, int]]:
    steps = ["/help", "/start", "Ada", "/me", "/rename", "Grace", "/rename", "/cancel"]
    steps += ["/forget", "yes"]
    measured = []
    async with bot_stack(uri, "ours", isolation=isolation) as stack:
        for text in steps:
            before = len(stack.commands())
            await stack.send(7, text)
            measured.append((text, len(stack.commands()) - before))
    return measured


async def growth(uri: str, registered: int) -> Row:
    """Per-update latency and round trips of /me and a rename with `registered` users."""
    client: MongoClient[dict[str, Any]] = MongoClient(uri)
    users = client["bench"]["users"]
    users.create_index("telegram_id", unique=True, name=USER_ID_INDEX)  # as the bot does
    now = dt.datetime.now(dt.UTC)
    for start in range(0, registered, 10_000):
        batch = range(start + 1, min(start + 10_000, registered) + 1)
        docs = [
            {"telegram_id": i, "name": f"U{i}", "created_at": now, "updated_at": now} for i in batch
        ]
        users.insert_many(docs, ordered=False)
    async with bot_stack(uri, "ours") as stack:
        latencies: list[float] = []
        before = len(stack.commands())
        step = max(1, registered // 100)
        for user in range(1, registered + 1, step):
            for text in ("/me", "/rename", f"Renamed {user}"):
                latencies.append(await stack.send(user, text))
        trips = (len(stack.commands()) - before) / len(latencies)
    plan = users.find({"telegram_id": registered // 2}).explain()["queryPlanner"]["winningPlan"]
    client.close()
    return {
        "p50_ms": pct(latencies, 50) * 1000,
        "p99_ms": pct(latencies, 99) * 1000,
        "trips": trips,
        "plan": describe_plan(plan),
    }


async def memory(uri: str, conversations: int) -> Row:
    async with bot_stack(uri, "ours") as stack:
        await run_scripts(stack, 8, 25, first_user=9_000_000)
        gc.collect()
        before = rss_mb()

        async def open_many(index: int) -> None:
            for user in range(index, conversations, 64):
                await stack.send(1 + user, "/start")  # leaves them waiting for a name

        await asyncio.gather(*(open_many(i) for i in range(64)))
        gc.collect()
        after = rss_mb()
    return {"before_mb": before, "after_mb": after, "conversations": conversations}


def describe_plan(plan: dict[str, Any]) -> str:
    stages = []
    while plan:
        stages.append(
            f"{plan.get('stage')}" + (f"({plan['indexName']})" if "indexName" in plan else "")
        )
        plan = plan.get("inputStage", {})
    return " ← ".join(stages)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return (
        statistics.quantiles(values, n=100, method="inclusive")[p - 1] if p < 100 else max(values)
    )


def measure(label: str, job: Callable[..., Any], *args: Any) -> Any:
    """Run `job(*args)` (to completion on a fresh loop if it is a coroutine), print it."""
    started = time.perf_counter()
    result = job(*args)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    say(f"  {label}: {fmt(result)}  [{time.perf_counter() - started:.0f} s]")
    return result


def fmt(result: Any) -> str:
    if isinstance(result, dict):
        return ", ".join(
            f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()
        )
    return f"{result:.0f}" if isinstance(result, float) else str(result)


def main() -> int:
    started = time.perf_counter()
    python = sys.version.split()[0]
    say(
        f"profilebot bench: {os.cpu_count()} CPUs, Python {python},"
        f" proxy {DELAY * 1000:g} ms each way"
    )
    results: dict[str, Any] = {"proxy": {}, "direct": {}, "ceiling": {}}
    for behind_proxy in (True, False):
        where = "proxy" if behind_proxy else "direct"
        say(f"\nThroughput, {where} (updates/s for the {len(SCRIPT)}-step mix)")
        for level in LEVELS:
            for variant in VARIANTS:
                with fresh_server(behind_proxy) as uri:
                    results[where][(variant, level)] = measure(
                        f"{variant:5} C={level:3}",
                        throughput,
                        uri,
                        variant,
                        level,
                        behind_proxy,
                    )
            if not behind_proxy:
                with fresh_server(False) as uri:
                    results["ceiling"][level] = measure(
                        f"raw   C={level:3} ops/s", raw_ceiling, uri, min(level, 64)
                    )
    say("\nResponsiveness behind the proxy (/help while 64 users run scripts)")
    results["responsiveness"] = {}
    for variant in VARIANTS:
        with fresh_server(True) as uri:
            results["responsiveness"][variant] = measure(variant, responsiveness, uri, variant)
    say("\nRound trips per step (pymongo command monitoring)")
    with fresh_server(False) as uri:
        results["round_trips"] = measure("steps", round_trips, uri)
    say("\nCross-process safety behind the proxy: EVENT_ISOLATION local against mongo")
    results["isolation"] = {}
    for level in ISOLATION_LEVELS:
        for isolation in ("local", "mongo"):
            with fresh_server(True) as uri:
                results["isolation"][(isolation, level)] = measure(
                    f"{isolation:5} C={level:3}", throughput, uri, "ours", level, True, isolation
                )
    with fresh_server(False) as uri:
        results["isolation_round_trips"] = measure("steps under leases", round_trips, uri, "mongo")
    say("\nWebhook processes behind the proxy: 1 against 3 on one database, over HTTP")
    results["processes"] = {}
    for level in ISOLATION_LEVELS:
        for processes in (1, 3):
            with fresh_server(True) as uri:
                results["processes"][(processes, level)] = measure(
                    f"{processes} proc C={level:3}",
                    webhook_processes.throughput,
                    uri,
                    processes,
                    level,
                )
    say("\nCost growth (direct)")
    results["growth"] = {}
    for registered in (1_000, 100_000):
        with fresh_server(False) as uri:
            results["growth"][registered] = measure(f"{registered} users", growth, uri, registered)
    say("\nMemory (direct)")
    with fresh_server(False) as uri:
        results["memory"] = measure("10k conversations", memory, uri, 10_000)
    write_report(results, OUT, delay_ms=DELAY * 1000, minutes=(time.perf_counter() - started) / 60)
    say(f"\nWrote {OUT / 'results.md'} and {OUT / 'throughput.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
