"""The stand-in Bot APIs (the bench's and the end-to-end tests') take a file as Telegram
does: aiogram's own session sends `sendDocument` as multipart/form-data, and the stand-in
answers with the message carrying the document and keeps the file's content."""

from aiogram import Bot
from aiogram.types import BufferedInputFile

from bench.local_bot_api import LocalBotApi
from presentation.telegram.bot_api import telegram_session
from tests.e2e.fake_bot_api import FakeBotApi

TOKEN = "4242:stand-in-token"
CONTENT = '{"name": "Ada", "note": "ünïcødé"}'.encode()


async def _send(url: str) -> tuple[str | None, str | None]:
    """Send the file to user 7 through the Bot API at `url`; its name and caption as the
    answer describes them."""
    session = telegram_session(url)
    try:
        file = BufferedInputFile(CONTENT, filename="profilebot-2026-01-02.json")
        sent = await Bot(TOKEN, session=session).send_document(7, file, caption="Here it is")
    finally:
        await session.close()
    assert sent.document is not None
    return sent.document.file_name, sent.caption


async def test_the_end_to_end_fake_keeps_the_file_a_bot_sends() -> None:
    with FakeBotApi(TOKEN) as api:
        answered = await _send(api.url)
        [document] = api.documents_to(7)

    assert answered == ("profilebot-2026-01-02.json", "Here it is")
    assert (document.file_name, document.content, document.caption) == (
        "profilebot-2026-01-02.json",
        CONTENT,
        "Here it is",
    )


async def test_the_benchs_stand_in_keeps_the_file_a_bot_sends() -> None:
    with LocalBotApi(TOKEN) as api:
        answered = await _send(api.url)

    assert answered == ("profilebot-2026-01-02.json", "Here it is")
    assert api.documents == [("profilebot-2026-01-02.json", CONTENT)]
