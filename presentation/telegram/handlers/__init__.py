"""All handlers, assembled in the order that makes commands win.

Each feature is a module here; it offers its handlers as routers, by the name of the
function that builds them, and `build_router` takes them from every module in this order:

1. `command_router()`: commands, buttons, and anything else that must win over a
   conversation waiting for an answer (so a command sent while the bot waits for a name is
   handled as that command, never stored as a name);
2. `conversation_router()`: the answers to the bot's questions, each on `InState(...)`;
3. `fallback_router()`: whatever no other handler wanted;
4. the errors router (`errors.router()`), last.

A new module's routers join by being defined: there is no list to extend. Within one kind,
modules go in name order (no two of a kind may want the same update). Every handler is
handed `you` (by the dispatcher, so its errors router gets the same one) and a press
`press`: see `arguments`.
"""

import importlib
import pkgutil
from types import ModuleType

from aiogram import Router

from presentation.telegram.filters import PrivateChatButton, PrivateChatUser
from presentation.telegram.handlers import errors
from presentation.telegram.handlers.arguments import HandPress

ROUTER_KINDS = ("command_router", "conversation_router", "fallback_router")
"""The functions a feature module may define, in the order their routers are included."""


def build_router() -> Router:
    root = Router(name="profilebot")
    root.message.filter(PrivateChatUser())
    root.callback_query.filter(PrivateChatButton())
    root.callback_query.middleware(HandPress())
    features = feature_modules()
    for kind in ROUTER_KINDS:
        for module in features:
            if (make := getattr(module, kind, None)) is not None:
                root.include_router(make())
    root.include_router(errors.router())
    return root


def feature_modules() -> list[ModuleType]:
    """Every module of this package, in name order."""
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    ]
