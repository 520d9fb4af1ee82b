"""Settings from environment variables and `.env`, validated before anything starts."""

import re
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    Field,
    HttpUrl,
    SecretStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from infrastructure.secrets import mongo_uri_secrets
from infrastructure.startup_error import StartupError

DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org"

_BOT_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")
_DB_NAME_FORBIDDEN = frozenset('/\\. "$\x00')
_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_WEBHOOK_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")


def _check_bot_token(token: SecretStr | None) -> SecretStr | None:
    # The message must never contain the value: it is printed on a bad start.
    if token is not None and not _BOT_TOKEN.fullmatch(token.get_secret_value()):
        raise ValueError(
            "not a bot token (expected digits, a colon, then the secret from @BotFather)"
        )
    return token


def _check_mongo_uri(uri: SecretStr | None) -> SecretStr | None:
    if uri is not None and not uri.get_secret_value().startswith(_MONGO_SCHEMES):
        raise ValueError("must start with mongodb:// or mongodb+srv://")
    return uri


def _check_db_name(name: str) -> str:
    if not name or len(name.encode()) > 63 or _DB_NAME_FORBIDDEN & set(name):
        raise ValueError('must be 1-63 bytes without /\\. "$ or NUL')
    return name


def _check_webhook_secret(secret: SecretStr | None) -> SecretStr | None:
    if secret is not None and not _WEBHOOK_SECRET.fullmatch(secret.get_secret_value()):
        raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    return secret


def _check_webhook_path(path: str) -> str:
    if not _WEBHOOK_PATH.fullmatch(path):
        raise ValueError("must start with / and hold only letters, digits and . _ ~ / -")
    return path


def _check_api_url(url: str) -> str:
    _HTTP_URL.validate_python(url)
    return url.rstrip("/")


class Settings(BaseSettings):
    """Everything configurable. Unset `BOT_TOKEN` means a local terminal chat; unset
    `MONGO_URI` means an embedded MongoDB-compatible server with data under
    `EMBEDDED_MONGO_PATH`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # `BOT_TOKEN=` in .env means unset, as in .env.example
        extra="ignore",
        frozen=True,
    )

    bot_token: Annotated[SecretStr | None, AfterValidator(_check_bot_token)] = None
    telegram_api_url: Annotated[str, AfterValidator(_check_api_url)] = DEFAULT_TELEGRAM_API_URL
    mongo_uri: Annotated[SecretStr | None, AfterValidator(_check_mongo_uri)] = None
    mongo_db: Annotated[str, AfterValidator(_check_db_name)] = "profilebot"
    mongo_connect_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 5.0
    mongo_operation_timeout_ms: Annotated[int, Field(ge=100, le=60_000)] = 3_000
    mongo_executor_threads: Annotated[int, Field(ge=1, le=512)] = 64
    fsm_state_ttl_seconds: Annotated[int, Field(ge=60)] = 24 * 60 * 60
    embedded_mongo_path: Path = Path(".data/mongo")
    flood_burst: Annotated[int, Field(ge=1, le=10_000)] = 10
    flood_per_minute: Annotated[float, Field(gt=0, le=60_000)] = 30.0
    recent_users_kept: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000
    shutdown_grace_seconds: Annotated[float, Field(ge=0, le=600)] = 10.0
    event_isolation: Literal["local", "mongo"] | None = None
    conversation_lease_seconds: Annotated[float, Field(ge=1, le=300)] = 15.0
    lock_wait_seconds: Annotated[float, Field(gt=0, le=50)] = 20.0
    poller_lease_seconds: Annotated[float, Field(ge=1, le=300)] = 6.0
    webhook_host: str = "0.0.0.0"
    webhook_port: Annotated[int, Field(ge=1, le=65535)] = 8080
    webhook_path: Annotated[str, AfterValidator(_check_webhook_path)] = "/telegram/webhook"
    webhook_secret: Annotated[SecretStr | None, AfterValidator(_check_webhook_secret)] = None
    webhook_max_connections: Annotated[int, Field(ge=1, le=100)] = 40
    http_host: str = "0.0.0.0"
    http_port: Annotated[int | None, Field(ge=1, le=65535)] = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @model_validator(mode="after")
    def _lease_outlasts_two_operations(self) -> Self:
        # A holder that cannot renew stops one operation timeout before its lease ends, and
        # renews every third of it: a shorter lease would leave it no time to work.
        if self.conversation_lease_seconds <= 2 * self.mongo_operation_timeout_seconds + 0.5:
            raise ValueError(
                "CONVERSATION_LEASE_SECONDS must be more than twice MONGO_OPERATION_TIMEOUT_MS"
                " plus half a second"
            )
        return self

    def isolation_for(self, mode: str) -> Literal["local", "mongo"]:
        """EVENT_ISOLATION if set, else what `mode` needs: several webhook replicas share
        users, while one poller (or one terminal chat) is alone with them."""
        if self.event_isolation is not None:
            return self.event_isolation
        return "mongo" if mode == "webhook" else "local"

    @property
    def mongo_operation_timeout_seconds(self) -> float:
        return self.mongo_operation_timeout_ms / 1000

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or output."""
        found = [self.bot_token.get_secret_value()] if self.bot_token else []
        if self.webhook_secret:
            found.append(self.webhook_secret.get_secret_value())
        if self.mongo_uri:
            found += mongo_uri_secrets(self.mongo_uri.get_secret_value())
        return found


def load_settings() -> Settings:
    """Read settings, turning any validation failure into one printable line."""
    try:
        return Settings()
    except ValidationError as error:
        raise StartupError(f"configuration error: {describe(error)}") from None


def describe(error: ValidationError) -> str:
    """Each problem as `ENV_NAME: what is wrong`, never with the offending value."""
    problems = []
    for item in error.errors(include_input=False, include_url=False, include_context=False):
        field = "_".join(str(part) for part in item["loc"]).upper() or "settings"
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{field}: {message}")
    return "; ".join(problems)
