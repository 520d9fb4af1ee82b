"""Where a profile's time goes, by part of the stack: each function's own time counted in the
part its file belongs to, and a builtin's or a standard-library function's (which serve
whoever calls them) shared among its callers' parts."""

import pstats
from collections import defaultdict
from typing import Any

from bench.bot_processes import REPOSITORY

PARTS = (
    # (where the function's file is, the part it is counted in), the first that matches
    ("presentation/telegram/middlewares/update_log", "our middlewares: update log"),
    ("presentation/telegram/middlewares", "our middlewares"),
    ("presentation/telegram/conversation", "our conversation (lazy FSM, leases)"),
    ("presentation/telegram/languages", "i18n (ours and Babel/gettext)"),
    ("presentation/telegram/translation", "i18n (ours and Babel/gettext)"),
    ("presentation/telegram/texts", "i18n (ours and Babel/gettext)"),
    ("/babel/", "i18n (ours and Babel/gettext)"),
    ("gettext", "i18n (ours and Babel/gettext)"),
    ("aiogram/utils/i18n", "i18n (ours and Babel/gettext)"),
    ("presentation/bootstrap/metrics", "metrics (Prometheus)"),
    ("prometheus_client", "metrics (Prometheus)"),
    ("logging/", "logging"),
    ("infrastructure/secrets", "logging"),
    ("presentation/bootstrap/logging_setup", "logging"),
    ("presentation/telegram/handlers", "handlers"),
    ("bench/reference_bot", "handlers"),
    ("presentation/telegram/bot_api", "Bot API session"),
    ("presentation/entrypoints/terminal/local_session", "Bot API session"),
    ("presentation/entrypoints/polling", "polling loop (getUpdates)"),
    ("presentation/entrypoints/webhook", "webhook server"),
    ("presentation/", "our other bot code (buttons, filters, commands)"),
    ("application/", "use cases and domain"),
    ("domain/", "use cases and domain"),
    ("infrastructure/", "our MongoDB adapters and executor"),
    ("tests/", "in-memory storage"),
    ("aiogram/fsm", "aiogram FSM and storage"),
    ("aiogram/dispatcher/middlewares", "aiogram's middleware chain (calling each one)"),
    ("aiogram/filters", "aiogram routing and filters"),
    ("aiogram/dispatcher", "aiogram routing and filters"),
    ("aiogram/client", "Bot API session"),
    ("aiogram/methods", "Bot API session"),
    ("aiogram/", "aiogram, other (types, context)"),
    ("pydantic", "pydantic (aiogram's types)"),
    ("aiohttp", "aiohttp and its helpers (HTTP)"),
    ("multidict", "aiohttp and its helpers (HTTP)"),
    ("yarl", "aiohttp and its helpers (HTTP)"),
    ("pymongo", "pymongo and bson"),
    ("bson", "pymongo and bson"),
    ("dependency_injector", "dependency injection"),
    ("asyncio/", "asyncio"),
    ("selectors", "asyncio"),
)
UNPLACED = "other (standard library)"
Function = tuple[str, int, str]
"""As cProfile names a function: file, line, name."""
Row = dict[str, Any]


def split(profile: pstats.Stats, per: int, top: int = 15) -> Row:
    """Milliseconds per one of `per` (updates, registrations) by part, largest first, and
    the `top` functions with most own time."""
    stats: dict[Function, Any] = profile.stats  # type: ignore[attr-defined]
    by_part: dict[str, float] = defaultdict(float)
    by_function: dict[str, float] = defaultdict(float)
    for function, row in stats.items():
        own_seconds = row[2]
        path, line, name = function
        by_function[f"{short(path)}:{line} {name}"] += own_seconds
        for part, seconds in attributed(stats, function, own_seconds):
            by_part[part] += seconds
    scale = 1000 / per
    parts = sorted(by_part.items(), key=lambda kv: -kv[1])
    functions = sorted(by_function.items(), key=lambda kv: -kv[1])[:top]
    return {
        "parts": {part: seconds * scale for part, seconds in parts},
        "functions": [(name, seconds * scale) for name, seconds in functions],
    }


def part_of(path: str) -> str:
    """The part of the stack a function's file belongs to; UNPLACED for a builtin or
    standard library code that serves whoever calls it."""
    for marker, part in PARTS:
        if marker in path:
            return part
    return UNPLACED


def attributed(
    stats: dict[Function, Any], function: Function, seconds: float, depth: int = 0
) -> list[tuple[str, float]]:
    """`seconds` of `function`'s own time, by part: an unplaced function's is shared among
    its callers (in proportion to the time it spent for each), up the stack until a placed
    caller is found."""
    part = part_of(function[0])
    callers: dict[Function, tuple[Any, ...]] = stats[function][4]
    spent = sum(row[2] for row in callers.values())
    if part != UNPLACED or depth > 20 or not spent:
        return [(part, seconds)]
    shares = []
    for caller, row in callers.items():
        shares += attributed(stats, caller, seconds * row[2] / spent, depth + 1)
    return shares


def short(path: str) -> str:
    for marker in ("site-packages/", "lib/python3", str(REPOSITORY) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path
