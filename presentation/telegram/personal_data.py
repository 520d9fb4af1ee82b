"""/mydata's file: what the storage keeps about the user (`PersonalDataExport`), as one JSON
document in their language: each record whole, with what it is, how long it is kept, and
what each of its fields is (`texts.stored_fields`)."""

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiogram.types import BufferedInputFile

from application.export_personal_data import PersonalDataExport
from application.personal_data import StoredRecord
from presentation.telegram import texts

MEDIA_TYPE = "application/json"


def as_file(export: PersonalDataExport) -> BufferedInputFile:
    """The file to send: `profilebot-<date>.json`, UTF-8."""
    return BufferedInputFile(rendered(export), filename=file_name(export))


def file_name(export: PersonalDataExport) -> str:
    return f"profilebot-{export.exported_at:%Y-%m-%d}.json"


def rendered(export: PersonalDataExport) -> bytes:
    about = texts.export_about if export.records else texts.export_holds_nothing
    document = {
        "about": about(export.user_id, export.exported_at),
        "user_id": export.user_id,
        "exported_at": export.exported_at.isoformat(),
        "records": [_record(record, export) for record in export.records],
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=_json_value).encode()


def _record(record: StoredRecord, export: PersonalDataExport) -> dict[str, Any]:
    return {
        "kept_in": record.kept_in,
        "what": texts.kept_in(record.kept_in, export.retention),
        "document": dict(record.fields),
        "fields": described(record),
    }


def described(record: StoredRecord) -> dict[str, str]:
    """What each field of `record` is, a field of its `data` as `data.<name>`, in the order
    stored; a field without a description says so."""
    descriptions = texts.stored_fields().get(record.kept_in, {})
    names = list(record.fields)
    data = record.fields.get("data")
    if isinstance(data, Mapping):
        names += [f"data.{name}" for name in data]
    return {name: descriptions.get(name) or texts.undescribed_field() for name in names}


def _json_value(value: object) -> object:
    """What JSON has no type for: a moment as ISO 8601, anything else as its text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)
