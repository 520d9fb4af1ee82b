"""Under leases, a command's profile read goes out together with taking the lease, not after
it: one sequential round trip instead of two.

Read before the lease is held, the profile may miss the effect of the step that held it last
(a rename an instant before). So it is used only if it surely came after that holder let
the lease go: the lease says when that was, on the storage's clock (`free_since_ms`), and
since the read was sent no earlier than the acquisition's server time minus the whole
local wait, a release before that (allowing for clocks) preceded the read, and the holder's
effect preceded its release. Otherwise (a holder that never let go, a release too recent,
one by an older version that notes no time) the read is dropped and made again, as before.
"""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Final

from aiogram.types import Update

from application.errors import UserNotRegistered
from application.profile import UserProfile
from application.show_profile import ShowProfile, ShowProfileRequest
from presentation.telegram.conversation.ports import HeldConversation

EARLY_PROFILE_KEY: Final = "early_profile"
"""Where the lease middleware leaves an update's `EarlyProfile` (None: read it as usual)."""

ReadProfile = Callable[[int], Coroutine[None, None, UserProfile | None]]


async def read_profile(show_profile: ShowProfile, user_id: int) -> UserProfile | None:
    """The user's profile, or None if they have none."""
    try:
        return await show_profile.execute(ShowProfileRequest(user_id=user_id))
    except UserNotRegistered:
        return None


def profile_reader(show_profile: Callable[[], ShowProfile]) -> ReadProfile:
    """Reads with the use case `show_profile` provides at the time (the container's
    provider: a test's override of the use case holds here too)."""

    async def read(user_id: int) -> UserProfile | None:
        return await read_profile(show_profile(), user_id)

    return read


def worth_reading_early(update: Update) -> bool:
    """A command: every one reads the profile, for its answer or for its language. (Other
    messages and presses mostly act, and the action returns the profile.)"""
    text = update.message.text if update.message is not None else None
    return text is not None and text.startswith("/")


class EarlyProfile:
    """A profile read sent before the lease was taken."""

    def __init__(self, read: ReadProfile, user_id: int) -> None:
        loop = asyncio.get_running_loop()
        self._sent = loop.time()
        self._task: asyncio.Task[UserProfile | None] = loop.create_task(read(user_id))
        self._task.add_done_callback(_retrieved)

    def usable_under(self, held: HeldConversation) -> bool:
        """Whether the read surely came after the last holder of `held` let it go (call
        right after taking the lease)."""
        free_since = held.free_since_ms
        if free_since is None or held.unfinished:
            return False
        if free_since == 0:
            return True
        waited_ms = (asyncio.get_running_loop().time() - self._sent) * 1000
        return free_since < held.server_now_ms - waited_ms

    async def profile(self) -> UserProfile | None:
        """The profile as read; raises `StorageUnavailable` if the read failed."""
        return await self._task


def _retrieved(task: "asyncio.Task[UserProfile | None]") -> None:
    """A read nobody awaits (dropped, or its update ended first) leaves quietly; a failure
    of the read that is used is raised where it is used."""
    if not task.cancelled():
        task.exception()
