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
from presentation.telegram.filters import PressedButton
from presentation.telegram.languages import LANGUAGE_KEY, ReplyLanguage
from presentation.telegram.translation import LANGUAGES


async def language_command(
    message: Message, state: FSMContext, reply_language: ReplyLanguage
) -> None:
    """Offer the languages, the one spoken now marked. A conversation in progress stays
    where it is."""
    current = await reply_language.settle(state)
    reminder = texts.still_waiting(await state.get_state())
    question = f"{texts.choose_language()}\n\n{reminder}" if reminder else texts.choose_language()
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
    yet (registering carries it over), and say so in the language chosen. Pressed again,
    it chooses the same again: nothing changes."""
    request = ChooseLanguageRequest(user_id=sender_id, language=callback_data.code)
    try:
        await choose_language.execute(request)
    except UserNotRegistered:
        await state.update_data({LANGUAGE_KEY: callback_data.code})
    reply_language.speak(callback_data.code)
    await buttons.retire_pressed(bot, state, pressed)
    await bot.send_message(pressed.chat_id, texts.language_chosen())


def command_router() -> Router:
    router = Router(name="language-commands")
    router.message.register(language_command, Command("language"))
    router.callback_query.register(language_pressed, LanguageButton.filter(F.code.in_(LANGUAGES)))
    return router
