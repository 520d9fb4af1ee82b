import asyncio

from aiogram.fsm.storage.base import StorageKey

from presentation.telegram.middlewares.user_order import UserLocks


def key(user_id: int) -> StorageKey:
    return StorageKey(bot_id=42, chat_id=user_id, user_id=user_id)


async def test_after_100_000_users_no_lock_is_left_in_memory() -> None:
    locks = UserLocks()

    for user_id in range(1, 100_001):
        async with locks.lock(key(user_id)):
            assert len(locks) == 1

    assert len(locks) == 0


async def test_locks_held_are_bounded_by_the_users_in_flight() -> None:
    locks, release = UserLocks(), asyncio.Event()

    async def hold(user_id: int) -> None:
        async with locks.lock(key(user_id)):
            await release.wait()

    holders = [asyncio.create_task(hold(user_id % 3)) for user_id in range(30)]
    await asyncio.sleep(0)
    assert len(locks) == 3  # 30 updates of 3 users: one lock each

    release.set()
    await asyncio.gather(*holders)
    assert len(locks) == 0


async def test_one_users_updates_take_the_lock_in_the_order_they_asked_for_it() -> None:
    locks, order = UserLocks(), []

    async def update(number: int) -> None:
        async with locks.lock(key(7)):
            await asyncio.sleep(0.001 * (5 - number))  # earlier ones are slower
            order.append(number)

    await asyncio.gather(*(update(number) for number in range(5)))

    assert order == [0, 1, 2, 3, 4]
