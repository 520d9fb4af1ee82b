"""Every document the bot writes carries the current schema version, in every collection it
writes, and every such collection is one `profilebot migrate` upgrades."""

from pymongo.database import Database

from infrastructure.migration import UPGRADES
from infrastructure.mongo_client import Document
from infrastructure.schema import SCHEMA_VERSION, VERSION_FIELD
from presentation.telegram import texts
from tests.conversations.conftest import MONGO_ONLY, BotUnderTest

pytestmark = MONGO_ONLY


async def test_every_document_a_whole_conversation_writes_is_current_and_migrated(
    bot: BotUnderTest, database: Database[Document]
) -> None:
    await bot.send("/language")  # before registering: kept with the conversation
    await bot.press("Русский")
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/language")
    await bot.press("English")
    await bot.send("/rename")
    await bot.send("Grace")
    await bot.send("/me")
    await bot.send("/forget")
    assert await bot.send("yes") == [texts.forgotten()]  # leaves the deletion's record
    await bot.send("/start", user_id=8)
    await bot.send("Bob", user_id=8)

    written = sorted(database.list_collection_names())
    migrated = sorted(upgrade.collection for upgrade in UPGRADES)
    assert set(written) <= set(migrated), "a collection the migration does not know"
    for collection in written:
        versions = [d.get(VERSION_FIELD) for d in database[collection].find()]
        assert versions, collection
        assert set(versions) == {SCHEMA_VERSION}, (collection, versions)
