"""/forget (typed, or the Delete button under the profile): delete the user's profile and
conversation, after an explicit YES or a tap on "Yes, delete it"."""

from functools import cache

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from presentation.telegram import buttons, commands, states, texts
from presentation.telegram.buttons import ForgetAnswer, ForgetButton, ProfileAction, ProfileButton
from presentation.telegram.filters import InState
from presentation.telegram.handlers.arguments import Press, You
from presentation.telegram.handlers.profile import pressed_profile
from presentation.telegram.states import Forgetting
from presentation.telegram.translation import in_every_language


@cache
def _confirmations() -> frozenset[str]:
    """What confirms, typed: "yes" in any language the bot speaks ("YES", "да", …). Not
    at import: the catalogues are loaded once the bot has checked they are there."""
    return frozenset(word.casefold() for word in in_every_language(texts.confirmation_word))


async def forget(message: Message, bot: Bot, state: FSMContext, you: You) -> None:
    """Ask before deleting anything; there is no undo."""
    if await you.profile() is None:
        await message.answer(texts.nothing_to_forget())
        return
    await _ask(bot, message.chat.id, state)


async def delete_pressed(
    query: CallbackQuery, callback_data: ProfileButton, press: Press, state: FSMContext, you: You
) -> None:
    """The Delete button: /forget for the profile it was under, unless the question is
    already asked (a second press changes nothing) or that profile is gone."""
    waiting, gone = Forgetting.waiting_for_confirmation, texts.nothing_to_forget
    if await pressed_profile(callback_data, press, you, waiting=waiting, gone=gone) is not None:
        await _ask(press.bot, press.chat_id, state)
    await press.retire(state)


async def _ask(bot: Bot, chat_id: int, state: FSMContext) -> None:
    """Ask, with buttons; the conversation remembers which message asks."""
    previous = await state.get_state()
    earlier_question = await buttons.open_question(state)
    if previous in buttons.NAME_STATES:
        # The name keyboard belongs to that conversation, and this question carries other
        # buttons: say the other one ended, taking its keyboard with it.
        await bot.send_message(
            chat_id, states.cancelled(previous), reply_markup=buttons.NO_KEYBOARD
        )
    await state.set_state(Forgetting.waiting_for_confirmation)
    asked = await bot.send_message(
        chat_id, texts.confirm_forget(), reply_markup=buttons.forget_buttons()
    )
    await state.update_data({buttons.QUESTION_KEY: asked.message_id})
    if earlier_question is not None:  # asked again: the new question is the one to answer
        await buttons.retire(bot, chat_id, earlier_question)


async def confirmation_received(message: Message, bot: Bot, state: FSMContext, you: You) -> None:
    """YES (in any language the bot speaks) deletes the profile; anything else keeps it.
    Either way the question is closed, its buttons with it."""
    confirmed = (message.text or "").strip().casefold() in _confirmations()
    question = await buttons.open_question(state)
    await _answer(confirmed, bot, message.chat.id, state, you)
    if question is not None:
        await buttons.retire(bot, message.chat.id, question)


async def answer_pressed(
    query: CallbackQuery, callback_data: ForgetButton, press: Press, state: FSMContext, you: You
) -> None:
    """A button under the question answers it only while it is the open question: pressed
    again, or after the conversation moved on, it changes nothing."""
    if await buttons.open_question(state) == press.message_id:
        confirmed = callback_data.answer is ForgetAnswer.DELETE
        await _answer(confirmed, press.bot, press.chat_id, state, you)
    else:
        press.answer.text = await you.say(texts.question_closed)
    await press.retire(state)


async def _answer(confirmed: bool, bot: Bot, chat_id: int, state: FSMContext, you: You) -> None:
    if confirmed:
        await you.forget()  # said in the deleted profile's language, which it forgets
        await state.clear()
        await commands.drop_menu_in_chat(
            bot, chat_id
        )  # before the reply, whose failure would skip it
        reply = texts.forgotten()
    else:
        await you.end_conversation()
        reply = texts.kept()
    await bot.send_message(chat_id, reply, reply_markup=buttons.NO_KEYBOARD)


def command_router() -> Router:
    router = Router(name="forgetting-commands")
    router.message.register(forget, commands.FORGET.filter())
    router.callback_query.register(
        delete_pressed, ProfileButton.filter(F.action == ProfileAction.DELETE)
    )
    return router


def conversation_router() -> Router:
    router = Router(name="forgetting-conversation")
    router.message.register(confirmation_received, InState(Forgetting.waiting_for_confirmation))
    router.callback_query.register(answer_pressed, ForgetButton.filter())
    return router
