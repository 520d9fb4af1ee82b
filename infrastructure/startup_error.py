"""The one error type the CLI turns into a single line and exit code 2."""


class StartupError(Exception):
    """Configuration or environment is wrong; the message is one line and safe to print.

    Raisers must keep secrets (bot token, MongoDB password) out of the message.
    """
