"""/mydata: everything kept about the user, as one JSON file; /privacy: what is kept,
where, for how long, who sees it, and how to get it or delete it."""

from aiogram import Router
from aiogram.types import Message
from dependency_injector.wiring import Provide, inject

from application.personal_data import Retention
from presentation.telegram import commands, personal_data, states, texts
from presentation.telegram.handlers.arguments import You


async def mydata(message: Message, you: You) -> None:
    """The file, whether or not the user is registered (then it holds what little is kept,
    or says that nothing is). A question left open stays open, and is recalled."""
    exported = await you.personal_data()
    caption = texts.personal_data_sent() if exported.records else texts.nothing_kept()
    await message.answer_document(
        personal_data.as_file(exported), caption=states.with_reminder(caption, await you.state())
    )


@inject
async def privacy(message: Message, retention: Retention = Provide["retention"]) -> None:
    """Reads no storage, like /help: it answers during an outage too, in the language last
    settled for the user (else Telegram's)."""
    await message.answer(texts.privacy(retention))


def command_router() -> Router:
    router = Router(name="privacy-commands")
    router.message.register(mydata, commands.MYDATA.filter())
    router.message.register(privacy, commands.PRIVACY.filter())
    return router
