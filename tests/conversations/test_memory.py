"""What the bot keeps in memory follows the users in flight, not the users it has served:
nothing an update was handed outlives it. (What is kept per user on purpose, such as the
language settled last or the conversation remembered, has a fixed cap, tested with each.)"""

import gc

from presentation.telegram.conversation.lazy_fsm import Conversation
from presentation.telegram.handlers.arguments import You
from presentation.telegram.languages import ReplyLanguage
from tests.conversations.conftest import BotUnderTest

USERS = 20
HANDED = (You, Conversation, ReplyLanguage)
"""What every update of a user is handed: their `you`, conversation and reply language."""


def alive() -> dict[type, int]:
    """How many of each of `HANDED` are in memory, garbage collected first."""
    gc.collect()
    counts = dict.fromkeys(HANDED, 0)
    for thing in gc.get_objects():
        if type(thing) in counts:
            counts[type(thing)] += 1
    return counts


async def test_no_update_leaves_its_you_conversation_or_language_in_memory(
    bot: BotUnderTest,
) -> None:
    before = alive()

    for user_id in range(100, 100 + USERS):
        await bot.send("/me", user_id)  # not registered: the errors router answers
        await bot.send("/start", user_id)
        await bot.send(f"User {user_id}", user_id)

    grown = {kind.__name__: max(0, count - before[kind]) for kind, count in alive().items()}
    assert grown == {"You": 0, "Conversation": 0, "ReplyLanguage": 0}
