"""/language: which language the bot speaks with the user, chosen with a button."""

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from presentation.telegram import buttons, commands, states, texts
from presentation.telegram.buttons import LanguageButton
from presentation.telegram.handlers.arguments import Press, You
from presentation.telegram.translation import LANGUAGES


async def language_command(message: Message, you: You) -> None:
    """Offer the languages, the one spoken now marked. A conversation in progress stays
    where it is."""
    current = await you.state()
    question = states.with_reminder(texts.choose_language(), current)
    await message.answer(question, reply_markup=buttons.language_buttons(you.language))


async def language_pressed(
    query: CallbackQuery, callback_data: LanguageButton, press: Press, state: FSMContext, you: You
) -> None:
    """Keep the choice with the profile, or with the conversation for a user who has none
    yet (registering carries it over); say so in the language chosen. A choice kept with the
    profile gets the chat that language's command menu (one kept with the conversation
    expires with it, and a menu would not). A name keyboard showing comes again in that
    language. Pressed again, it chooses the same again: nothing changes. The conversation
    is read before the profile changes: that read is what recognises a press delivered again,
    and if it fails, the apology's "nothing was lost" is true."""
    current = await state.get_state()
    profile = await you.choose_language(callback_data.code)
    await press.retire(state)
    keyboard = None
    if current in buttons.NAME_STATES:
        renaming = profile.name if profile is not None else None
        keyboard = buttons.name_keyboard(buttons.offered_name(query.from_user, renaming))
    await press.bot.send_message(press.chat_id, texts.language_chosen(), reply_markup=keyboard)
    if profile is not None:
        await commands.use_menu_in_chat(press.bot, press.chat_id, callback_data.code)


def command_router() -> Router:
    router = Router(name="language-commands")
    router.message.register(language_command, commands.LANGUAGE.filter())
    router.callback_query.register(language_pressed, LanguageButton.filter(F.code.in_(LANGUAGES)))
    return router
