import pytest

from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.settings import Settings
from presentation.telegram import texts
from tests.conversations.conftest import MONGO_ONLY, BotUnderTest, isolation

pytestmark = MONGO_ONLY

BOB = 8


@pytest.fixture
def settings(mongo_server: EmbeddedMongo, db_name: str, backend: str) -> Settings:
    # A burst of 3, refilled so slowly that the test never sees a refill.
    return Settings(
        _env_file=None, mongo_uri=mongo_server.uri, mongo_db=db_name, flood_burst=3,
        event_isolation=isolation(backend),
        flood_per_minute=0.01,
    )  # fmt: skip


async def test_a_flood_is_cut_off_with_one_polite_answer_and_no_database_work(
    bot: BotUnderTest,
) -> None:
    replies = [await bot.send("/help") for _ in range(3)]
    assert replies == [[texts.help_text()]] * 3

    assert await bot.round_trips("/me") == ([texts.slow_down()], [])
    assert await bot.round_trips("/me") == ([], [])
    assert await bot.round_trips("/start") == ([], [])


async def test_one_users_flood_does_not_limit_another(bot: BotUnderTest) -> None:
    for _ in range(5):
        await bot.send("/help")

    assert await bot.send("/help", user_id=BOB) == [texts.help_text()]


@pytest.mark.parametrize("text", ["/me", "/cmd@profilebot", "hello bot"])
async def test_messages_in_a_group_cost_nothing_and_spend_no_flood_budget(
    bot: BotUnderTest, text: str
) -> None:
    for _ in range(4):  # more than the burst of 3
        assert await bot.feed_counting(bot.group_update(text)) == ([], [])

    assert bot.requests == []  # no reply, no warning, in the group or anywhere
    assert await bot.send("/help") == [texts.help_text()]
    assert await bot.send("/cancel") == [texts.nothing_to_cancel()]


async def test_a_flooded_button_is_still_answered_and_costs_no_database_work(
    bot: BotUnderTest,
) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/me")  # the burst of 3 is spent

    for _ in range(2):
        assert await bot.feed_counting(bot.press_update(texts.rename_button())) == ([], [])

    assert [answer.text for answer in bot.callback_answers()] == [texts.slow_down_presses(), None]
    assert bot.retired() == []
