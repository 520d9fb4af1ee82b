"""Every word the bot says, in one place. Replies are plain text: names are never markup."""

from datetime import datetime

from domain.user_name import MAX_NAME_LENGTH, NameProblem
from presentation.telegram.states import Forgetting, Registration, Renaming

HELP = (
    "I keep a small profile for you: a name and the date you registered.\n"
    "\n"
    "/start – register (I'll ask for your name)\n"
    "/me – show your profile (also /profile, /details)\n"
    "/rename – change your name (also /update_name)\n"
    "/forget – delete your profile (I'll ask first)\n"
    "/cancel – stop what we're doing\n"
    "/help – this message"
)

ASK_NAME = "Welcome! What should I call you? Send me your name."
NEED_TEXT_NAME = "I need your name as text. Please type it, or send /cancel to stop."
NOT_REGISTERED = "You're not registered yet. Send /start to register."
NOTHING_TO_CANCEL = "There's nothing to cancel."
STORAGE_UNAVAILABLE = (
    "Sorry, I can't reach my storage right now. Nothing was lost – please try again in a moment."
)
PROFILE_CHANGED_MEANWHILE = (
    "Your profile was being changed from another device at the same moment, so I saved"
    " nothing. Please send that again."
)
UNEXPECTED_ERROR = "Sorry, something went wrong on my side. Please try again."
SLOW_DOWN = (
    "You're sending messages faster than I can keep up, so I'm skipping some."
    " Please wait a few seconds, then carry on."
)
SLOW_DOWN_PRESSES = "You're pressing faster than I can keep up. Please wait a few seconds."
TRY_AGAIN = "I'm still busy with your previous message. Please press again in a moment."
CONFIRM_FORGET = (
    "This deletes your profile for good. Tap “Yes, delete it” or send YES to confirm;"
    " anything else keeps it."
)
FORGOTTEN = "Done: I've deleted your profile and forgotten our conversation. /start to begin anew."
KEPT = "OK, I've kept your profile."
NOTHING_TO_FORGET = "You have no profile here, so there's nothing to delete."
QUESTION_CLOSED = "That question is closed: nothing changed."
STALE_BUTTON = "That button no longer does anything."

RENAME_BUTTON = "✏️ Rename"
DELETE_BUTTON = "🗑 Delete"
CONFIRM_DELETE_BUTTON = "🗑 Yes, delete it"
KEEP_BUTTON = "Keep it"
CANCEL_BUTTON = "❌ Cancel"
"""Sent as a message when tapped, so it is matched as text: no name looks like it."""
NAME_PLACEHOLDER = "Your name"

_CANCELLED = {
    Registration.waiting_for_name.state: "Registration cancelled. Send /start whenever you like.",
    Renaming.waiting_for_new_name.state: "Renaming cancelled. Your name is unchanged.",
    Forgetting.waiting_for_confirmation.state: KEPT,
}

_STILL_WAITING = {
    Registration.waiting_for_name.state: "I'm still waiting for your name (or /cancel).",
    Renaming.waiting_for_new_name.state: "I'm still waiting for your new name (or /cancel).",
    Forgetting.waiting_for_confirmation.state: (
        "Tap “Yes, delete it” or send YES to delete your profile, or /cancel."
    ),
}

_NAME_PROBLEMS = {
    NameProblem.EMPTY: "Your name can't be empty.",
    NameProblem.TOO_LONG: f"That's too long: a name can have at most {MAX_NAME_LENGTH} characters.",
    NameProblem.LINE_BREAK: "Please keep your name on one line.",
    NameProblem.CONTROL_CHARACTER: "Your name contains control characters; please remove them.",
    NameProblem.INVISIBLE: "Your name needs at least one visible character.",
    NameProblem.LOOKS_LIKE_COMMAND: (
        "A name can't start with “/” – that's how commands start, and I don't know that one."
    ),
}


def registered(name: str) -> str:
    return f"Nice to meet you, {name}! You're registered. Send /me to see your profile."


def already_registered(name: str) -> str:
    return f"You're already registered as {name}. Send /me to see your profile."


def profile(name: str, registered_at: datetime) -> str:
    return f"Name: {name}\nRegistered: {registered_at:%Y-%m-%d %H:%M} UTC"


def ask_new_name(current_name: str) -> str:
    return f"Your name is {current_name}. What should your new name be?"


def renamed(name: str) -> str:
    return f"Done! From now on you're {name}."


def name_unchanged(name: str) -> str:
    return f"That's already your name, {name} – nothing changed."


def invalid_name(problem: NameProblem) -> str:
    return f"{_NAME_PROBLEMS[problem]} Please send another name, or /cancel to stop."


def cancelled(state: str | None) -> str:
    return _CANCELLED.get(state or "", "Cancelled.")


def still_waiting(state: str | None) -> str:
    """The reminder alone: what a button pressed again is answered with."""
    return _STILL_WAITING.get(state or "", "")


def with_reminder(text: str, state: str | None) -> str:
    """Append what the bot is still waiting for, so a side command doesn't lose the thread."""
    reminder = still_waiting(state)
    return f"{text}\n\n{reminder}" if reminder else text


def unknown_input(text: str | None) -> str:
    if text and text.startswith("/"):
        command = _shortened(text.split()[0])
        return f"I don't know the command {command}. Send /help to see what I can do."
    return "I didn't get that. Send /help to see what I can do."


def _shortened(echo: str, limit: int = 64) -> str:
    """User text quoted back, cut so that no reply can exceed Telegram's message limit."""
    return echo if len(echo) <= limit else echo[: limit - 1] + "…"
