"""The Prometheus metrics add up to what the bot was sent, and carry no user data."""

from prometheus_client.parser import text_string_to_metric_families

from tests.conversations.conftest import ADA, BotUnderTest


def samples(bot: BotUnderTest) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = bot.container.metrics().exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_updates_are_counted_by_type_and_outcome(bot: BotUnderTest) -> None:
    await bot.send("/start")
    await bot.send("x" * 100)  # an invalid name
    await bot.send("Ada")
    await bot.send_in_group("/me")
    first = await bot.send("/help")
    assert first

    found = samples(bot)

    def updates(outcome: str) -> float:
        key = ("profilebot_updates_total", (("outcome", outcome), ("type", "message")))
        return found.get(key, 0.0)

    assert updates("ok") == 3
    assert updates("error:InvalidUserName") == 1
    assert updates("ignored") == 1
    histogram = ("profilebot_update_duration_seconds_count", (("type", "message"),))
    assert found[histogram] == 5


async def test_no_label_carries_a_user_id_or_text(bot: BotUnderTest) -> None:
    await bot.send("/start")
    await bot.send("Secretname")

    text = bot.container.metrics().exposition().decode()

    assert "Secretname" not in text
    assert str(ADA) not in {
        value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        for value in sample.labels.values()
    }


async def test_updates_waiting_at_the_storage_door_are_exported(bot: BotUnderTest) -> None:
    door = bot.container.storage_admission()
    assert door in list(bot.dispatcher.update.outer_middleware)  # the door updates pass
    door.waiting = 3  # as while a burst larger than the executor waits

    text = bot.container.metrics().exposition().decode()

    assert "profilebot_updates_waiting_for_storage 3.0" in text
