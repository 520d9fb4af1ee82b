"""Hypothesis-generated text through the real dispatcher and MongoDB. Examples are drawn up
front (the bot fixture is async), then each is sent by a user of its own."""

from hypothesis import strategies as st

from domain.user_name import UserName
from presentation.telegram import texts
from tests.conversations.conftest import MONGO_ONLY, BotUnderTest
from tests.hostile_text import draw, hostile_text, problem_of

pytestmark = MONGO_ONLY

EXAMPLES = 150


async def test_hostile_names_are_stored_byte_exact_or_rejected_with_a_reason(
    bot: BotUnderTest,
) -> None:
    samples = [text for text in draw(hostile_text, EXAMPLES) if text.strip()]
    accepted = 0
    for user_id, text in enumerate(samples, start=1_000):
        await bot.send("/start", user_id)
        replies = await bot.send(text, user_id)
        problem = problem_of(text)
        if problem is not None:
            assert replies == [texts.invalid_name(problem)], text
            continue
        name = UserName(text)
        accepted += 1
        assert replies == [texts.registered(name.value)], text
        [stored] = [u for u in bot.stored_users() if u["telegram_id"] == user_id]
        assert stored["name"].encode() == name.value.encode()
    assert accepted > 0


async def test_fsm_data_with_dotted_and_dollar_keys_round_trips(bot: BotUnderTest) -> None:
    keys = st.one_of(st.text(max_size=10), st.sampled_from(["a.b", "$where", "$", ".", ""]))
    values = st.one_of(st.text(max_size=20), st.integers(), st.none(), st.booleans())
    samples = draw(st.dictionaries(keys, values, max_size=6), 100)
    storage = bot.dispatcher.storage
    for index, data in enumerate(samples):
        key = bot.storage_key(5_000 + index)
        await storage.set_data(key, data)
        assert await storage.get_data(key) == data
