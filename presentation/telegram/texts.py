"""Every word the bot says, but those declared with a command (`commands`) or a conversation
state (`states`), in the language of the update being handled (see
`presentation.telegram.translation`). Replies are plain text: names are never markup, and
never translated: they are put into a translated sentence, as typed.

Each text is a function, so that it is rendered when it is said, in that update's language.
"""

from datetime import datetime, timedelta

from babel.dates import format_date
from babel.units import format_unit

from application.personal_data import Retention
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
    return _("Name: {name}\nRegistered: {date}, {time} UTC").format(
        name=user.name, **_date_and_time(user.registered_at)
    )


def privacy(retention: Retention) -> str:
    """What /privacy says: what is kept, where, for how long, who sees it, and how to get it
    (/mydata) or delete it (/forget). The durations are the storage's own."""
    return _(
        "What I keep about you, where, and for how long:\n"
        "\n"
        "• Your profile: your Telegram user id, the name you gave me, the language you chose,"
        " and when you registered and last changed it. Kept until you delete it with /forget;"
        " after that only a record of which message deleted it (no name) stays, for"
        " {deletion_record}.\n"
        "• Our conversation: the question I'm waiting for you to answer (forgotten after"
        " {open_question}), a language you chose before registering, the ids of the messages"
        " I handled lately (at most {handled}, so that one Telegram delivers twice is not"
        " handled twice) and how fast you're writing. Removed {conversation} after your last"
        " message.\n"
        "\n"
        "Both are kept in this bot's MongoDB database. Each message I handle is also logged,"
        " with your user id but never with what you wrote; logs are kept as long as whoever"
        " runs the bot keeps them. While it runs, the bot also keeps in memory only, until"
        " it restarts: your language, how fast you're writing, and a change to our"
        " conversation it could not save yet.\n"
        "\n"
        "Who sees it: you, and whoever runs this bot and its database; nobody else. Telegram"
        " keeps our chat itself, under Telegram's own privacy policy.\n"
        "\n"
        "/mydata sends you everything I keep about you, as a file. /forget deletes your"
        " profile at once and ends our conversation, whose record goes {conversation} after"
        " your last message."
    ).format(
        deletion_record=duration(retention.deletion_record),
        open_question=duration(retention.open_question),
        conversation=duration(retention.conversation),
        handled=retention.handled_updates,
    )


def personal_data_sent() -> str:
    """The caption of /mydata's file."""
    return _(
        "Here's everything I keep about you, in one file, each field explained. /privacy says"
        " where it's kept and for how long."
    )


def nothing_kept() -> str:
    """The caption of /mydata's file when nothing is kept."""
    return _("I keep nothing about you, as this file says. /privacy says what I would keep.")


def export_about(user_id: int, exported_at: datetime) -> str:
    """The first thing /mydata's file says."""
    return _(
        "Everything this bot keeps about you (Telegram user {user_id}) as of {date}, {time}"
        " UTC: each record whole, as stored, and what each of its fields is."
    ).format(user_id=user_id, **_date_and_time(exported_at))


def export_holds_nothing(user_id: int, exported_at: datetime) -> str:
    return _(
        "This bot keeps nothing about you (Telegram user {user_id}) as of {date}, {time} UTC."
    ).format(user_id=user_id, **_date_and_time(exported_at))


def kept_in(collection: str, retention: Retention) -> str:
    """What a record kept in `collection` is, and how long it is kept."""
    match collection:
        case "users":
            return _(
                "Your profile, in the collection “users” of the bot's MongoDB database: kept"
                " until you delete it with /forget. Deleting it leaves only a record of which"
                " message deleted it (no name), removed after {deletion_record}."
            ).format(deletion_record=duration(retention.deletion_record))
        case "fsm_states":
            return _(
                "Our conversation, in the collection “fsm_states” of the same database:"
                " removed {conversation} after your last message; an open question is"
                " forgotten after {open_question}."
            ).format(
                conversation=duration(retention.conversation),
                open_question=duration(retention.open_question),
            )
        case _:
            return _("Kept in the collection “{collection}” of the bot's database.").format(
                collection=collection
            )


def stored_fields() -> dict[str, dict[str, str]]:
    """What each stored field is, by collection; a field of a conversation's `data` as
    `data.<name>`. A test walks the database and names any field stored without one."""
    milliseconds = _("milliseconds since 1970, by the database's clock")
    version = _("The shape this record is stored in, so that a newer bot can upgrade it.")
    return {
        "users": {
            "schema_version": version,
            "_id": _("The document's id, made by the database."),
            "telegram_id": _("Your Telegram user id."),
            "name": _("The name you gave me."),
            "created_at": _("When you registered (UTC)."),
            "updated_at": _("When your profile last changed (UTC)."),
            "language": _("The language you chose with /language."),
            "answered_by": _(
                "The id of the Telegram update (a message or a press of yours) that last"
                " registered, renamed or deleted you: delivered again, it gets the same answer"
                " and changes nothing twice."
            ),
            "renamed_by": _(
                "As answered_by, where an earlier version of the bot recorded a rename."
            ),
            "forgotten_at": _("When you deleted your profile (UTC)."),
        },
        "fsm_states": {
            "schema_version": version,
            "released_ms": _(
                "When a copy of the bot last let the conversation go ({clock})."
            ).format(clock=milliseconds),
            "released_with": _(
                "The removal time that copy wrote then, to tell whether anything wrote after it."
            ),
            "taken_after": _(
                "The removal time found when the conversation was last taken, to compare with"
                " the one above."
            ),
            "_id": _(
                "Names the conversation: “fsm”, this bot's id, the chat's id, your user id"
                " and “default”."
            ),
            "state": _("The question I'm waiting for you to answer (say, your name), or null."),
            "data": _(
                "What the conversation remembers meanwhile (stored as JSON text; its fields"
                " are described as data.<field>)."
            ),
            "data.language": _("The language you chose with /language before registering."),
            "data.question": _("The id of my message whose buttons answer the open question."),
            "data.owed_step": _(
                "A step whose answer may not have reached you, kept so that, delivered again,"
                " it gets that answer and no other."
            ),
            "state_expires_at": _("When the open question is forgotten, unless answered (UTC)."),
            "expires_at": _("When this record is removed, unless you write before (UTC)."),
            "handled": _(
                "The ids of your Telegram updates I finished handling lately: one delivered"
                " again is recognised and not handled twice."
            ),
            "writer": _("Which running copy of the bot wrote this last (a random id)."),
            "flood": _(
                "The limit on how fast you write: tokens left, when it was counted ({clock})"
                " and whether you were asked to slow down."
            ).format(clock=milliseconds),
            "lease_token": _(
                "Which running copy of the bot holds the conversation while it handles an"
                " update of yours (a random id; several copies take turns)."
            ),
            "lease_until_ms": _("Until when that copy may hold it ({clock}).").format(
                clock=milliseconds
            ),
            "lease_seen_ms": _("When it was last taken or renewed ({clock}).").format(
                clock=milliseconds
            ),
            "step": _("The update being handled while the conversation is held, else null."),
            "unfinished": _(
                "Updates whose handling stopped half-way (a copy of the bot stopped), for the"
                " next one to check."
            ),
        },
    }


def undescribed_field() -> str:
    return _("(Not described.)")


def duration(span: timedelta) -> str:
    """`span` in the largest unit that measures it whole: "2 days", "36 hours"."""
    seconds = round(span.total_seconds())
    for unit, length in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds and seconds % length == 0:
            return format_unit(seconds // length, f"duration-{unit}", locale=current_language())
    return format_unit(seconds, "duration-second", locale=current_language())


def _date_and_time(moment: datetime) -> dict[str, str]:
    date = format_date(moment.date(), format="long", locale=current_language())
    return {"date": date, "time": f"{moment:%H:%M}"}


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
