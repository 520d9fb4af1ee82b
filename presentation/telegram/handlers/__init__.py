"""All handlers, assembled in the order that makes commands win.

Command routers come before the conversation routers, so a command sent while the bot waits
for a name is handled as that command and never stored as a name. Every handler is handed
`you` (and a press `press`): see `arguments`.
"""

from aiogram import Router

from presentation.telegram.filters import PrivateChatButton, PrivateChatUser
from presentation.telegram.handlers import (
    errors,
    forgetting,
    general,
    language,
    profile,
    registration,
    renaming,
)
from presentation.telegram.handlers.arguments import HandArguments


def build_router() -> Router:
    root = Router(name="profilebot")
    root.message.filter(PrivateChatUser())
    root.callback_query.filter(PrivateChatButton())
    arguments = HandArguments()  # one for all three: an error handler gets its update's `you`
    for observer in (root.message, root.callback_query, root.errors):
        observer.middleware(arguments)
    root.include_routers(
        general.command_router(),
        language.command_router(),
        registration.command_router(),
        profile.command_router(),
        renaming.command_router(),
        forgetting.command_router(),
        registration.conversation_router(),
        renaming.conversation_router(),
        forgetting.conversation_router(),
        general.fallback_router(),
        errors.router(),
    )
    return root
