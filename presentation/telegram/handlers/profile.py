"""/me: the user's profile, with buttons to rename or delete it."""

from collections.abc import Callable

from aiogram import Router
from aiogram.fsm.state import State
from aiogram.types import Message

from application.profile import UserProfile
from presentation.telegram import buttons, commands, states, texts
from presentation.telegram.buttons import ProfileButton
from presentation.telegram.handlers.arguments import Press, You


async def me(message: Message, you: You) -> None:
    """Show the stored name and registration date. The buttons start the same flows as
    /rename and /forget (see those handlers); while the bot waits for a name, the name
    keyboard stays, since a message carries one kind of keyboard only."""
    profile = await you.registered_profile()
    reply = texts.profile(profile)
    await message.answer(
        states.with_reminder(reply, await you.state()),
        reply_markup=buttons.profile_buttons(profile.registered_at),
    )


def command_router() -> Router:
    router = Router(name="profile-commands")
    router.message.register(me, commands.ME.filter())
    return router


async def pressed_profile(
    button: ProfileButton, press: Press, you: You, *, waiting: State, gone: Callable[[], str]
) -> UserProfile | None:
    """The profile a button under it acts on; or None when the press changes nothing, with
    the answer saying why: the bot already waits for what it would ask (`waiting`), the
    profile is gone (`gone()`), or it is not the profile shown."""
    current = await you.state()
    if current == waiting.state:
        press.answer.text = states.still_waiting(current)
        return None
    profile = await you.profile()
    if profile is None:
        press.answer.text = gone()
    elif buttons.profile_since(profile.registered_at) != button.since:
        press.answer.text = texts.stale_button()
    else:
        return profile
    return None
