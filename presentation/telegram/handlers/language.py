"""/language: which language the bot speaks with the user, chosen with a button."""

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from dependency_injector.wiring import Provide, inject

from application.choose_language import ChooseLanguage, ChooseLanguageRequest
from application.errors import UserNotRegistered
from presentation.telegram import buttons, texts
from presentation.telegram.buttons import LanguageButton
from presentation.telegram.commands import use_menu_in_chat
from presentation.telegram.filters import PressedButton
from presentation.telegram.languages import (
    LANGUAGE_KEY,
    ReplyLanguage,
    forget_choice_in_conversation,
)
from presentation.telegram.translation import LANGUAGES


async def language_command(
    message: Message, state: FSMContext, reply_language: ReplyLanguage
) -> None:
    """Offer the languages, the one spoken now marked. A conversation in progress stays
    where it is."""
    current = await reply_language.settle(state)
    question = texts.with_reminder(texts.choose_language(), await state.get_state())
    await message.answer(question, reply_markup=buttons.language_buttons(current))


@inject
async def language_pressed(
    query: CallbackQuery,
    *,
    bot: Bot,
    callback_data: LanguageButton,
    sender_id: int,
    pressed: PressedButton,
    state: FSMContext,
    reply_language: ReplyLanguage,
    choose_language: ChooseLanguage = Provide["choose_language"],
) -> None:
    """Keep the choice with the profile, or with the conversation for a user who has none
    yet (registering carries it over); say so in the language chosen. A choice kept with the
    profile gets the chat that language's command menu (one kept with the conversation
    expires with it, and a menu would not). A name keyboard showing comes again in that
    language. Pressed again, it chooses the same again: nothing changes."""
    code = callback_data.code
    try:
        profile = await choose_language.execute(
            ChooseLanguageRequest(user_id=sender_id, language=code)
        )
    except UserNotRegistered:
        profile = None
        await state.update_data({LANGUAGE_KEY: code})
    else:
        await forget_choice_in_conversation(state)  # the profile's is the one that counts
    reply_language.speak(code)
    await buttons.retire_pressed(bot, state, pressed)
    current = await state.get_state()
    keyboard = None
    if current in buttons.NAME_STATES:
        renaming = profile.name if profile is not None else None
        keyboard = buttons.name_keyboard(buttons.offered_name(query.from_user, renaming))
    await bot.send_message(pressed.chat_id, texts.language_chosen(), reply_markup=keyboard)
    if profile is not None:
        await use_menu_in_chat(bot, pressed.chat_id, code)


def command_router() -> Router:
    router = Router(name="language-commands")
    router.message.register(language_command, Command("language"))
    router.callback_query.register(language_pressed, LanguageButton.filter(F.code.in_(LANGUAGES)))
    return router
