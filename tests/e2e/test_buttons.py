"""Buttons pressed through the real process, as Telegram delivers them: a reply keyboard tap
is a message, an inline button press a `callback_query` that must be answered once.

Handler tests feed such updates to a dispatcher; only here do the keyboards take the whole
way (aiogram's serialisation, `allowed_updates`, the middlewares, the answer and the edit
that takes used buttons away), so one bot start covers a whole flow.
"""

from typing import Any

import pytest
from pymongo import MongoClient

from presentation.telegram import states, texts
from presentation.telegram.buttons import ForgetAnswer, ForgetButton
from presentation.telegram.states import Forgetting
from tests.e2e.fake_bot_api import FakeBotApi, SentMessage
from tests.e2e.profilebot_process import BotProcess

pytestmark = [pytest.mark.e2e, pytest.mark.mongo]

ADA = 1001


def test_a_user_registers_with_a_tap_and_deletes_the_profile_with_buttons(
    bot: BotProcess, bot_api: FakeBotApi, mongo_client: MongoClient[dict[str, Any]], db_name: str
) -> None:
    """The whole way without typing a name: each press answered once, each used set of
    buttons taken away, so nothing is left to press by mistake."""
    bot_api.send_text(ADA, "/start", first_name="Ada", last_name="Lovelace")
    bot_api.wait_for_reply(ADA, texts.ask_name())
    assert bot_api.keyboard(ADA) == ["Ada Lovelace", texts.cancel_button()]
    bot_api.send_text(ADA, "Ada Lovelace")  # a tap sends the label as a message
    bot_api.wait_for_reply(ADA, texts.registered("Ada Lovelace"))
    assert bot_api.keyboard(ADA) == []

    profile = _show_profile(bot_api)
    assert list(profile.buttons) == [texts.rename_button(), texts.delete_button()]
    delete = bot_api.press(ADA, texts.delete_button())
    bot_api.wait_for_answer(delete)
    question = bot_api.message(ADA, texts.confirm_forget())
    assert list(question.buttons) == [texts.confirm_delete_button(), texts.keep_button()]
    confirm = bot_api.press(ADA, texts.confirm_delete_button())
    bot_api.wait_for_answer(confirm)
    bot_api.wait_for_reply(ADA, texts.forgotten())
    bot_api.send_text(ADA, "/me")
    bot_api.wait_for_reply(ADA, texts.not_registered())

    assert bot.terminate() == 0
    assert _answer_texts(bot_api, delete, confirm) == [None, None]
    assert len(bot_api.calls_of("answerCallbackQuery")) == 2
    for used in (profile, question):
        assert [c.method for c in bot_api.edits_of(ADA, used.message_id)] == [
            "editmessagereplymarkup"
        ]
    assert all(not m.buttons for m in bot_api.sent_messages(ADA))
    kept = {"telegram_id": ADA, "name": {"$exists": True}}  # not the deletion's record
    assert mongo_client[db_name]["users"].count_documents(kept) == 0
    assert "Traceback" not in bot.output()


def test_a_second_tap_on_a_used_button_is_answered_and_changes_nothing(
    bot: BotProcess, bot_api: FakeBotApi, mongo_client: MongoClient[dict[str, Any]], db_name: str
) -> None:
    """Both taps arrive before the first is handled, so the second still finds its button:
    the conversation's state, not the button, decides that it does nothing."""
    _register_and_show_profile(bot_api)

    taps = bot_api.double_tap(ADA, texts.delete_button())
    bot_api.wait_for_answer(taps[1])
    still_asking = states.still_waiting(Forgetting.waiting_for_confirmation.state)
    assert _answer_texts(bot_api, *taps) == [None, still_asking]
    assert bot_api.replies_to(ADA).count(texts.confirm_forget()) == 1

    keeps = bot_api.double_tap(ADA, texts.keep_button())
    bot_api.wait_for_answer(keeps[1])
    assert _answer_texts(bot_api, *keeps) == [None, texts.question_closed()]
    assert bot_api.replies_to(ADA).count(texts.kept()) == 1

    assert bot.terminate() == 0
    assert len(bot_api.calls_of("answerCallbackQuery")) == 4
    assert mongo_client[db_name]["users"].count_documents({"telegram_id": ADA}) == 1
    assert all(not m.buttons for m in bot_api.sent_messages(ADA))
    assert "Traceback" not in bot.output()


def test_forged_callback_data_is_answered_and_changes_nothing(
    bot: BotProcess, bot_api: FakeBotApi, mongo_client: MongoClient[dict[str, Any]], db_name: str
) -> None:
    """Callback data comes from the client: data no button carries is answered as stale,
    and a real "delete" answer deletes only from under the question it belongs to."""
    _register_and_show_profile(bot_api)
    garbage = bot_api.press(ADA, texts.rename_button(), data="profile:steal")
    bot_api.wait_for_answer(garbage)

    _show_profile(bot_api)
    delete = bot_api.press(ADA, texts.delete_button())
    bot_api.wait_for_answer(delete)
    _show_profile(bot_api)  # while the question is open
    forged_yes = ForgetButton(answer=ForgetAnswer.DELETE).pack()
    forged = bot_api.press(ADA, texts.rename_button(), data=forged_yes)
    bot_api.wait_for_answer(forged)
    keep = bot_api.press(ADA, texts.keep_button())  # the question is still open
    bot_api.wait_for_answer(keep)
    bot_api.wait_for_reply(ADA, texts.kept())

    assert bot.terminate() == 0
    assert _answer_texts(bot_api, garbage, delete, forged, keep) == [
        texts.stale_button(),
        None,
        texts.question_closed(),
        None,
    ]
    assert len(bot_api.calls_of("answerCallbackQuery")) == 4
    assert texts.forgotten() not in bot_api.replies_to(ADA)
    assert mongo_client[db_name]["users"].count_documents({"telegram_id": ADA}) == 1
    assert "Traceback" not in bot.output()


def _register_and_show_profile(bot_api: FakeBotApi) -> None:
    bot_api.send_text(ADA, "/start")
    bot_api.wait_for_reply(ADA, texts.ask_name())
    bot_api.send_text(ADA, "Ada")
    bot_api.wait_for_reply(ADA, texts.registered("Ada"))
    _show_profile(bot_api)


def _show_profile(bot_api: FakeBotApi) -> SentMessage:
    """Send /me; the new profile message, once it is there."""
    shown = len(_profiles(bot_api))
    bot_api.send_text(ADA, "/me")
    bot_api.wait_until(lambda: len(_profiles(bot_api)) > shown)
    return _profiles(bot_api)[-1]


def _profiles(bot_api: FakeBotApi) -> list[SentMessage]:
    return [m for m in bot_api.sent_messages(ADA) if m.text.startswith("Name: ")]


def _answer_texts(bot_api: FakeBotApi, *queries: str) -> list[str | None]:
    """Each query's one answer's text (None for a silent answer), checking that each was
    answered exactly once."""
    answers = [bot_api.answers_to(query) for query in queries]
    assert [len(a) for a in answers] == [1] * len(queries), answers
    return [a[0].params.get("text") for a in answers]
