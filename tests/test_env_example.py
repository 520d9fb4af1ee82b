"""`.env.example` names every setting with its default, so copying it changes nothing."""

from pathlib import Path

from infrastructure.settings import Settings

EXAMPLE = Path(__file__).parent.parent / ".env.example"
# Placeholders to fill in, not defaults: unset, these select the local chat, the embedded
# database and no health and metrics server.
TO_FILL_IN = {"BOT_TOKEN", "MONGO_URI", "HTTP_PORT", "WEBHOOK_SECRET", "EVENT_ISOLATION"}


def example_settings() -> dict[str, str]:
    found = {}
    for line in EXAMPLE.read_text().splitlines():
        name, equals, value = line.removeprefix("# ").partition("=")
        if equals and name.isupper():
            found[name] = value
    return found


def test_the_example_names_exactly_the_settings() -> None:
    assert set(example_settings()) == {name.upper() for name in Settings.model_fields}


def test_the_example_values_are_the_defaults() -> None:
    example = {k: v for k, v in example_settings().items() if k not in TO_FILL_IN}

    # model_validate reads neither the environment nor a .env file, only what it is given.
    from_example = Settings.model_validate({k.lower(): v for k, v in example.items()})

    assert from_example == Settings.model_validate({})
