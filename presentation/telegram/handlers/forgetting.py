"""/forget (typed, or the Delete button under the profile): delete the user's profile and
conversation, after an explicit YES or a tap on "Yes, delete it"."""

import contextlib

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from dependency_injector.wiring import Provide, inject

from application.errors import UserNotRegistered
from application.forget_user import ForgetUser, ForgetUserRequest
from application.show_profile import ShowProfile, ShowProfileRequest
from presentation.telegram import buttons, texts
from presentation.telegram.buttons import ForgetAnswer, ForgetButton, ProfileAction, ProfileButton
from presentation.telegram.filters import InState, PressedButton
from presentation.telegram.states import Forgetting

CONFIRMATION = "yes"

_WAITING = Forgetting.waiting_for_confirmation.state


@inject
async def forget(
    message: Message,
    bot: Bot,
    sender_id: int,
    state: FSMContext,
    show_profile: ShowProfile = Provide["show_profile"],
) -> None:
    """Ask before deleting anything; there is no undo."""
    try:
        await show_profile.execute(ShowProfileRequest(user_id=sender_id))
    except UserNotRegistered:
        await message.answer(texts.NOTHING_TO_FORGET)
        return
    await _ask(bot, message.chat.id, state)


@inject
async def delete_pressed(
    query: CallbackQuery,
    *,
    bot: Bot,
    callback_data: ProfileButton,
    sender_id: int,
    pressed: PressedButton,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    show_profile: ShowProfile = Provide["show_profile"],
) -> None:
    """The Delete button: /forget for the profile it was under, unless the question is
    already asked (a second press changes nothing) or that profile is gone."""
    current = await state.get_state()
    if current == _WAITING:
        callback_answer.text = texts.still_waiting(current)
    else:
        try:
            profile = await show_profile.execute(ShowProfileRequest(user_id=sender_id))
        except UserNotRegistered:
            await bot.send_message(pressed.chat_id, texts.NOTHING_TO_FORGET)
        else:
            if buttons.profile_since(profile.registered_at) != callback_data.since:
                callback_answer.text = texts.STALE_BUTTON
            else:
                await _ask(bot, pressed.chat_id, state)
    await buttons.retire_pressed(bot, state, pressed)


async def _ask(bot: Bot, chat_id: int, state: FSMContext) -> None:
    """Ask, with buttons; the conversation remembers which message asks."""
    previous = await state.get_state()
    earlier_question = await buttons.open_question(state)
    if previous in buttons.NAME_STATES:
        # The name keyboard belongs to that conversation, and this question carries other
        # buttons: say the other one ended, taking its keyboard with it.
        await bot.send_message(chat_id, texts.cancelled(previous), reply_markup=buttons.NO_KEYBOARD)
    await state.set_state(Forgetting.waiting_for_confirmation)
    asked = await bot.send_message(
        chat_id, texts.CONFIRM_FORGET, reply_markup=buttons.forget_buttons()
    )
    await state.update_data({buttons.QUESTION_KEY: asked.message_id})
    if earlier_question is not None:  # asked again: the new question is the one to answer
        await buttons.retire(bot, chat_id, earlier_question)


@inject
async def confirmation_received(
    message: Message,
    bot: Bot,
    sender_id: int,
    state: FSMContext,
    forget_user: ForgetUser = Provide["forget_user"],
) -> None:
    """YES deletes the profile; anything else keeps it. Either way the question is closed,
    its buttons with it."""
    confirmed = (message.text or "").strip().casefold() == CONFIRMATION
    question = await buttons.open_question(state)
    await _answer(
        confirmed,
        bot=bot,
        chat_id=message.chat.id,
        sender_id=sender_id,
        state=state,
        forget_user=forget_user,
    )
    if question is not None:
        await buttons.retire(bot, message.chat.id, question)


@inject
async def answer_pressed(
    query: CallbackQuery,
    *,
    bot: Bot,
    callback_data: ForgetButton,
    sender_id: int,
    pressed: PressedButton,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    forget_user: ForgetUser = Provide["forget_user"],
) -> None:
    """A button under the question answers it only while it is the open question: pressed
    again, or after the conversation moved on, it changes nothing."""
    if await buttons.open_question(state) == pressed.message_id:
        confirmed = callback_data.answer is ForgetAnswer.DELETE
        await _answer(
            confirmed,
            bot=bot,
            chat_id=pressed.chat_id,
            sender_id=sender_id,
            state=state,
            forget_user=forget_user,
        )
    else:
        callback_answer.text = texts.QUESTION_CLOSED
    await buttons.retire_pressed(bot, state, pressed)


async def _answer(
    confirmed: bool,
    *,
    bot: Bot,
    chat_id: int,
    sender_id: int,
    state: FSMContext,
    forget_user: ForgetUser,
) -> None:
    if not confirmed:
        await state.clear()
        await bot.send_message(chat_id, texts.KEPT, reply_markup=buttons.NO_KEYBOARD)
        return
    # Already gone (say, a YES sent twice) is the outcome the user asked for.
    with contextlib.suppress(UserNotRegistered):
        await forget_user.execute(ForgetUserRequest(user_id=sender_id))
    await state.clear()
    await bot.send_message(chat_id, texts.FORGOTTEN, reply_markup=buttons.NO_KEYBOARD)


def command_router() -> Router:
    router = Router(name="forgetting-commands")
    router.message.register(forget, Command("forget"))
    router.callback_query.register(
        delete_pressed, ProfileButton.filter(F.action == ProfileAction.DELETE)
    )
    return router


def conversation_router() -> Router:
    router = Router(name="forgetting-conversation")
    router.message.register(confirmation_received, InState(Forgetting.waiting_for_confirmation))
    router.callback_query.register(answer_pressed, ForgetButton.filter())
    return router
