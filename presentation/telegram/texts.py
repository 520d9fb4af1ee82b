"""Every word the bot says, but those declared with a command (`commands`) or a conversation
state (`states`), in the language of the update being handled (see
`presentation.telegram.translation`). Replies are plain text: names are never markup, and
never translated: they are put into a translated sentence, as typed.

Each text is a function, so that it is rendered when it is said, in that update's language.
"""

from babel.dates import format_date

from application.profile import UserProfile
from domain.user_name import MAX_NAME_LENGTH, NameProblem
from presentation.telegram import commands
from presentation.telegram.translation import _, current_language, ngettext


def help_text() -> str:
    """What the bot does, and a line for each command (`commands.COMMANDS`)."""
    intro = _("I keep a small profile for you: a name and the date you registered.")
    return "\n".join([intro, "", *commands.help_lines()])


def ask_name() -> str:
    return _("Welcome! What should I call you? Send me your name.")


def need_text_name() -> str:
    return _("I need your name as text. Please type it, or send /cancel to stop.")


def not_registered() -> str:
    return _("You're not registered yet. Send /start to register.")


def nothing_to_cancel() -> str:
    return _("There's nothing to cancel.")


def storage_unavailable() -> str:
    return _(
        "Sorry, I can't reach my storage right now. Nothing was lost – please try again in a"
        " moment."
    )


def profile_changed_meanwhile() -> str:
    return _(
        "Your profile was being changed from another device at the same moment, so I saved"
        " nothing. Please send that again."
    )


def unexpected_error() -> str:
    return _("Sorry, something went wrong on my side. Please try again.")


def slow_down() -> str:
    return _(
        "You're sending messages faster than I can keep up, so I'm skipping some."
        " Please wait a few seconds, then carry on."
    )


def slow_down_presses() -> str:
    return _("You're pressing faster than I can keep up. Please wait a few seconds.")


def try_again() -> str:
    return _("I'm still busy with your previous message. Please press again in a moment.")


def confirm_forget() -> str:
    return _(
        "This deletes your profile for good. Tap “Yes, delete it” or send YES to confirm;"
        " anything else keeps it."
    )


def confirmation_word() -> str:
    """What to type to confirm deleting (compared case-insensitively)."""
    return _("yes")


def forgotten() -> str:
    return _(
        "Done: I've deleted your profile and forgotten our conversation. /start to begin anew."
    )


def kept() -> str:
    return _("OK, I've kept your profile.")


def nothing_to_forget() -> str:
    return _("You have no profile here, so there's nothing to delete.")


def question_closed() -> str:
    return _("That question is closed: nothing changed.")


def stale_button() -> str:
    return _("That button no longer does anything.")


def rename_button() -> str:
    return _("✏️ Rename")


def delete_button() -> str:
    return _("🗑 Delete")


def confirm_delete_button() -> str:
    return _("🗑 Yes, delete it")


def keep_button() -> str:
    return _("Keep it")


def cancel_button() -> str:
    """Sent as a message when tapped, so it is matched as text: no name looks like it."""
    return _("❌ Cancel")


def name_placeholder() -> str:
    return _("Your name")


def choose_language() -> str:
    return _("Which language should I speak with you?")


def language_chosen() -> str:
    """Said in the language just chosen, about that language."""
    return _("From now on I speak English with you.")


def registered(name: str) -> str:
    return _("Nice to meet you, {name}! You're registered. Send /me to see your profile.").format(
        name=name
    )


def already_registered(name: str) -> str:
    return _("You're already registered as {name}. Send /me to see your profile.").format(name=name)


def profile(user: UserProfile) -> str:
    """What /me shows: a line per field of the profile. The registration date as the
    language writes dates; the time in UTC, 24-hour."""
    registered_at = user.registered_at
    date = format_date(registered_at.date(), format="long", locale=current_language())
    return _("Name: {name}\nRegistered: {date}, {time} UTC").format(
        name=user.name, date=date, time=f"{registered_at:%H:%M}"
    )


def ask_new_name(current_name: str) -> str:
    return _("Your name is {name}. What should your new name be?").format(name=current_name)


def renamed(name: str) -> str:
    return _("Done! From now on you're {name}.").format(name=name)


def name_unchanged(name: str) -> str:
    return _("That's already your name, {name} – nothing changed.").format(name=name)


def too_long(limit: int) -> str:
    return ngettext(
        "That's too long: a name can have at most {limit} character.",
        "That's too long: a name can have at most {limit} characters.",
        limit,
    ).format(limit=limit)


def invalid_name(problem: NameProblem) -> str:
    return _("{problem} Please send another name, or /cancel to stop.").format(
        problem=_name_problem(problem)
    )


def cancelled() -> str:
    """What /cancel says when it ends a conversation that has no words of its own."""
    return _("Cancelled.")


def unknown_input(text: str | None) -> str:
    if text and text.startswith("/"):
        command = _shortened(text.split()[0])
        return _("I don't know the command {command}. Send /help to see what I can do.").format(
            command=command
        )
    return _("I didn't get that. Send /help to see what I can do.")


def _name_problem(problem: NameProblem) -> str:
    match problem:
        case NameProblem.EMPTY:
            return _("Your name can't be empty.")
        case NameProblem.TOO_LONG:
            return too_long(MAX_NAME_LENGTH)
        case NameProblem.LINE_BREAK:
            return _("Please keep your name on one line.")
        case NameProblem.CONTROL_CHARACTER:
            return _("Your name contains control characters; please remove them.")
        case NameProblem.INVISIBLE:
            return _("Your name needs at least one visible character.")
        case NameProblem.LOOKS_LIKE_COMMAND:
            return _(
                "A name can't start with “/” – that's how commands start, and I don't know"
                " that one."
            )


def _shortened(echo: str, limit: int = 64) -> str:
    """User text quoted back, cut so that no reply can exceed Telegram's message limit."""
    return echo if len(echo) <= limit else echo[: limit - 1] + "…"
