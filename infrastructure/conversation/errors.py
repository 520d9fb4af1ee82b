"""What the conversation mechanism reports: no use case raises these. Plain Python, so the
aiogram side of the mechanism can catch them without knowing MongoDB."""

from application.errors import ApplicationError


class RequestAlreadyHandled(ApplicationError):
    """The request was handled to the end before (it was delivered again): its effects
    happened and its answer went out."""

    def __init__(self, request_id: int) -> None:
        super().__init__(f"request {request_id} was already handled")
        self.request_id = request_id


class ConversationBusy(ApplicationError):
    """Another request of the same user kept the conversation longer than this one could
    wait; nothing happened, and the request should be delivered again."""


class ConversationLost(ApplicationError):
    """This request's hold on the conversation could not be kept (renewals failed) and was
    given up before another request could take it; what it had not yet written is dropped,
    and the request should be delivered again."""
