"""The schema version every stored document carries, so that two releases can share one
database during a rolling deploy, and `profilebot migrate` knows what to upgrade.

The rules (docs/deploy.md says them for operators):

- Every document this release creates or replaces carries `SCHEMA_VERSION`; a write that
  changes part of a document upgrades it in the same write (its collection's `Upgrade`,
  the one the migration runs; where that is the version alone, setting it is enough), so
  whatever this release writes is current.
- It reads the current version and the one before. Version 1 is what 0.1.0 wrote: no
  version field at all.
- A document of a later version reads as the current one: each release writes only what
  the release before it can read. It may add fields, which readers ignore, but renames or
  removes none that the previous release reads (that takes two releases: the second one's
  migration does it, as this one's folds `renamed_by` into `answered_by`).
"""

from dataclasses import dataclass

from infrastructure.mongo_client import Document

VERSION_FIELD = "schema_version"
SCHEMA_VERSION = 2
PREVIOUS_VERSION = 1
UNVERSIONED = 1
"""The version of a document without the field: 0.1.0 wrote none."""


def stamp() -> Document:
    """The field (for `$set`, or a new document) that marks a document current."""
    return {VERSION_FIELD: SCHEMA_VERSION}


def older() -> Document:
    """A query for the documents of an earlier version than the current one."""
    return {VERSION_FIELD: {"$not": {"$gte": SCHEMA_VERSION}}}


def version_of(document: Document) -> int:
    version = document.get(VERSION_FIELD)
    return version if isinstance(version, int) else UNVERSIONED


@dataclass(frozen=True, slots=True)
class Upgrade:
    """How the documents of one collection become current."""

    collection: str
    stages: tuple[Document, ...]
    """An update pipeline that makes a document of the previous version current, and
    leaves a current one as it is. It changes only what the versions differ in, so a
    concurrent write of anything else is never undone."""


STAMPED: tuple[Document, ...] = ({"$set": stamp()},)
"""The upgrade of a collection whose documents differ in the version field alone."""
