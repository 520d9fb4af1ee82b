"""Errors a use case reports to its caller, in the caller's terms rather than the database's."""

from application.profile import UserProfile


class ApplicationError(Exception):
    """Base for outcomes a use case reports as errors."""


class StorageUnavailable(ApplicationError):
    """The storage behind a port failed or did not answer in time; the action did not happen."""


class UserAlreadyRegistered(ApplicationError):
    """Registration was asked for a user who already has a profile."""

    def __init__(self, profile: UserProfile) -> None:
        super().__init__(f"user {profile.user_id} is already registered")
        self.profile = profile


class UserNotRegistered(ApplicationError):
    """The action needs a profile and the user has none."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"user {user_id} is not registered")
        self.user_id = user_id


class ProfileChangedMeanwhile(ApplicationError):
    """The profile was created and deleted elsewhere while this use case worked on it, more
    often than it retries; nothing was changed, and asking again will settle it."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"the profile of user {user_id} kept changing during the request")
        self.user_id = user_id
