"""What each of the bot's memories of recent users costs when full: each filled directly to
its cap (10,000 entries), measured with tracemalloc. docs/architecture.md ("Memory") quotes
this; run it with `python -m bench.memory_caps`."""

import asyncio
import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

from aiogram.types import Update, User

from infrastructure.conversation.remembered import REMEMBERED_CONVERSATIONS
from presentation.telegram.conversation.duplicate_updates import DuplicateUpdates
from presentation.telegram.languages import LastSettled
from presentation.telegram.middlewares.flood_control import FloodControl

ENTRIES = 10_000
FIRST_USER = 10**9


def traced_bytes(fill: Callable[[], object]) -> int:
    """Bytes still allocated after `fill` ran, while what it returned is alive."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = fill()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return after - before


def last_settled() -> LastSettled:
    settled = LastSettled()
    for user in range(FIRST_USER, FIRST_USER + ENTRIES):
        settled.put(user, "en")
    return settled


def flood_buckets() -> FloodControl:
    """Buckets of users who sent one message each, none flooding."""
    flood = FloodControl(burst=10, per_minute=30)

    async def handler(event: object, data: dict[str, Any]) -> None:
        return None

    async def fill() -> None:
        for user in range(FIRST_USER, FIRST_USER + ENTRIES):
            sender = User(id=user, is_bot=False, first_name="A")
            await flood(handler, Update(update_id=1), {"event_from_user": sender})

    asyncio.run(fill())
    return flood


def duplicate_updates() -> DuplicateUpdates:
    seen = DuplicateUpdates()

    async def handler(event: object, data: dict[str, Any]) -> None:
        return None

    async def fill() -> None:
        for update_id in range(FIRST_USER, FIRST_USER + ENTRIES):
            await seen(handler, Update(update_id=update_id), {})

    asyncio.run(fill())
    return seen


def main() -> int:
    print(f"Each filled with {ENTRIES:,} entries (tracemalloc):")
    for name, fill in (
        ("LastSettled (languages settled last)", last_settled),
        ("FloodControl (flood buckets)", flood_buckets),
        ("DuplicateUpdates (update ids seen)", duplicate_updates),
    ):
        size = traced_bytes(fill)
        print(f"  {name}: {size / ENTRIES:.0f} B per entry, {size / 1e6:.2f} MB in all")
    print(
        f"  RememberedConversations keeps up to {REMEMBERED_CONVERSATIONS:,} documents, whose"
        " size depends on the conversation (docs/conversations.md)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
