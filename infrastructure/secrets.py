"""The one place that knows what a secret looks like in text and scrubs it.

Settings list their secrets through `mongo_uri_secrets`; logging and start-up errors pass
every line through `redact`. A password can appear in a URI percent-encoded or decoded,
so both spellings count.
"""

from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus

MASK = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by `***`, the longest first, so a URI is masked
    whole before the password inside it."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mongo_uri_secrets(uri: str) -> list[str]:
    """The URI itself and its password in every spelling a driver or log line may use."""
    password = mongo_password(uri)
    if password is None:
        return [uri]
    return [uri, password, unquote(password), unquote_plus(password)]


def mongo_password(uri: str) -> str | None:
    """The password in a MongoDB URI's user info, if any (as written, still encoded).

    The user info ends at the last `@` before the options: a password with an unencoded
    `/` or `@` in it (which drivers may reject, and then print) still counts whole.
    """
    rest = uri.split("://", 1)[-1].split("?", 1)[0]
    userinfo, at, _ = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return None
    return userinfo.split(":", 1)[1] or None
