"""`profilebot migrate`: upgrade every stored document to the current schema version
(`infrastructure.migration` does the work; this is what an operator sees).

On a terminal, a progress line per collection on stderr, redrawn after each batch;
otherwise (a deploy job, a log collector) one log line per batch. What was done, or with
`--dry-run` what would be, goes to stdout, one line per collection.
"""

import logging
import signal
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TextIO

from dependency_injector import providers
from pymongo.errors import PyMongoError

from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.migration import UPGRADES, Batch, Migration
from infrastructure.schema import SCHEMA_VERSION
from infrastructure.settings import Settings
from presentation.bootstrap import lifecycle
from presentation.bootstrap.container import Container
from presentation.entrypoints.interruption import Interrupted

log = logging.getLogger("profilebot.migrate")
CARRY_ON = "nothing is half done: run it again to carry on"


class MigrationStopped(Exception):
    """The run stopped before the end: MongoDB failed, or a stop signal came. The message
    is one printable line."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def migrate(
    settings: Settings,
    embedded_mongo: EmbeddedMongo | None,
    *,
    dry_run: bool,
    batch_size: int,
    starting: Callable[[], AbstractContextManager[None]] = nullcontext,
    checkpoint: Callable[[], None] = lambda: None,
    out: TextIO = sys.stdout,
    progress: TextIO = sys.stderr,
) -> None:
    """Connect (inside `starting()`, which a stop signal may end), then count or upgrade;
    `checkpoint` runs after each batch and raises `Interrupted` to stop between batches.

    Raises `StartupError` if MongoDB cannot be reached, `MigrationStopped` if the run
    stops midway (nothing is half done: running it again carries on)."""
    container = Container(settings=settings)
    if embedded_mongo is not None:
        container.storage.embedded_mongo.override(providers.Object(embedded_mongo))
    try:
        with starting():
            migration = Migration(container.storage.database())
        if dry_run:
            _dry_run(migration, out)
        else:
            _run(migration, batch_size, checkpoint, out, progress)
    finally:
        lifecycle.stop(container)


def _dry_run(migration: Migration, out: TextIO) -> None:
    try:
        pending = migration.pending()
    except PyMongoError as error:
        raise MigrationStopped(f"MongoDB failed while counting ({type(error).__name__})") from None
    for collection, count in pending.items():
        print(f"{collection}: {_to_upgrade(count)}", file=out)
    print("dry run: nothing was changed", file=out, flush=True)


def _run(
    migration: Migration,
    batch_size: int,
    checkpoint: Callable[[], None],
    out: TextIO,
    progress: TextIO,
) -> None:
    shown = ProgressLine(progress) if progress.isatty() else None
    upgraded = 0

    def on_batch(batch: Batch) -> None:
        nonlocal upgraded
        upgraded += batch.upgraded
        (shown or _log_batch)(batch)
        checkpoint()

    for upgrade in UPGRADES:
        try:
            done = migration.upgrade_all(upgrade, batch_size, on_batch)
        except PyMongoError as error:
            raise MigrationStopped(
                f"the migration stopped: MongoDB failed ({type(error).__name__}) after"
                f" {_documents(upgraded)} were upgraded; {CARRY_ON}"
            ) from None
        except Interrupted as interrupted:
            name = signal.Signals(interrupted.signum).name
            raise MigrationStopped(
                f"the migration was interrupted by {name} after {_documents(upgraded)} were"
                f" upgraded; {CARRY_ON}",
                interrupted.exit_code,
            ) from None
        finally:
            if shown is not None:
                shown.end()
        print(f"{upgrade.collection}: {_upgraded(done)}", file=out, flush=True)


class ProgressLine:
    """One line on a terminal, redrawn after each batch: `users  [#####-----]  50%  500/1000`."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._drawn = False

    def __call__(self, batch: Batch) -> None:
        share = min(1.0, batch.done / batch.pending) if batch.pending else 1.0
        filled = round(share * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        line = f"{batch.collection:<12} [{bar}] {share:4.0%}  {batch.done}/{batch.pending}"
        self._stream.write(f"\r{line}\x1b[K")
        self._stream.flush()
        self._drawn = True

    def end(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
        self._drawn = False


def _log_batch(batch: Batch) -> None:
    log.info(
        "%s: a batch upgraded %s (%d of %d so far)",
        batch.collection,
        _documents(batch.upgraded),
        batch.done,
        batch.pending,
    )


def _to_upgrade(count: int) -> str:
    if count == 0:
        return f"none to upgrade (all at schema version {SCHEMA_VERSION})"
    return f"{_documents(count)} to upgrade to schema version {SCHEMA_VERSION}"


def _upgraded(count: int) -> str:
    if count == 0:
        return f"none to upgrade (all at schema version {SCHEMA_VERSION})"
    return f"{_documents(count)} upgraded to schema version {SCHEMA_VERSION}"


def _documents(count: int) -> str:
    return f"{count} document{'' if count == 1 else 's'}"
