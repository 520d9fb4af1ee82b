"""/forget (typed, or the Delete button under the profile): delete the user's profile and
conversation, after an explicit YES or a tap on "Yes, delete it"."""

from functools import cache

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
from presentation.telegram.commands import drop_menu_in_chat
from presentation.telegram.filters import InState, PressedButton
from presentation.telegram.handlers.profile import pressed_profile
from presentation.telegram.languages import ReplyLanguage, end_conversation
from presentation.telegram.states import Forgetting
from presentation.telegram.translation import in_every_language


@cache
def _confirmations() -> frozenset[str]:
    """What confirms, typed: "yes" in any language the bot speaks ("YES", "да", …). Not
    at import: the catalogues are loaded once the bot has checked they are there."""
    return frozenset(word.casefold() for word in in_every_language(texts.confirmation_word))


@inject
async def forget(
    message: Message,
    *,
    bot: Bot,
    sender_id: int,
    state: FSMContext,
    reply_language: ReplyLanguage,
    show_profile: ShowProfile = Provide["show_profile"],
) -> None:
    """Ask before deleting anything; there is no undo."""
    try:
        profile = await show_profile.execute(ShowProfileRequest(user_id=sender_id))
    except UserNotRegistered:
        await reply_language.settle(state, profile=None)
        await message.answer(texts.nothing_to_forget())
        return
    await reply_language.settle(state, profile)
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
    reply_language: ReplyLanguage,
    show_profile: ShowProfile = Provide["show_profile"],
) -> None:
    """The Delete button: /forget for the profile it was under, unless the question is
    already asked (a second press changes nothing) or that profile is gone."""
    profile = await pressed_profile(
        callback_data=callback_data,
        sender_id=sender_id,
        state=state,
        callback_answer=callback_answer,
        reply_language=reply_language,
        show_profile=show_profile,
        waiting=Forgetting.waiting_for_confirmation,
        gone=texts.nothing_to_forget,
    )
    if profile is not None:
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
        chat_id, texts.confirm_forget(), reply_markup=buttons.forget_buttons()
    )
    await state.update_data({buttons.QUESTION_KEY: asked.message_id})
    if earlier_question is not None:  # asked again: the new question is the one to answer
        await buttons.retire(bot, chat_id, earlier_question)


@inject
async def confirmation_received(
    message: Message,
    *,
    bot: Bot,
    sender_id: int,
    state: FSMContext,
    reply_language: ReplyLanguage,
    forget_user: ForgetUser = Provide["forget_user"],
) -> None:
    """YES (in any language the bot speaks) deletes the profile; anything else keeps it.
    Either way the question is closed, its buttons with it."""
    confirmed = (message.text or "").strip().casefold() in _confirmations()
    question = await buttons.open_question(state)
    await _answer(
        confirmed,
        bot=bot,
        chat_id=message.chat.id,
        sender_id=sender_id,
        state=state,
        reply_language=reply_language,
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
    reply_language: ReplyLanguage,
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
            reply_language=reply_language,
            forget_user=forget_user,
        )
    else:
        await reply_language.settle(state)
        callback_answer.text = texts.question_closed()
    await buttons.retire_pressed(bot, state, pressed)


async def _answer(
    confirmed: bool,
    *,
    bot: Bot,
    chat_id: int,
    sender_id: int,
    state: FSMContext,
    reply_language: ReplyLanguage,
    forget_user: ForgetUser,
) -> None:
    if not confirmed:
        await reply_language.settle(state)
        await end_conversation(state)
        await bot.send_message(chat_id, texts.kept(), reply_markup=buttons.NO_KEYBOARD)
        return
    # Already gone (say, a YES sent twice) is the outcome the user asked for. The deleted
    # profile still says which language to say so in.
    try:
        removed = await forget_user.execute(ForgetUserRequest(user_id=sender_id))
    except UserNotRegistered:
        removed = None
    await reply_language.settle(state, removed)  # said in the deleted profile's language
    reply_language.forget_choice()  # but no more: the choice went with the profile
    await state.clear()
    await drop_menu_in_chat(bot, chat_id)  # before the reply, whose failure would skip it
    await bot.send_message(chat_id, texts.forgotten(), reply_markup=buttons.NO_KEYBOARD)


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
