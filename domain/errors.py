"""Errors raised when a domain rule is broken."""


class DomainError(Exception):
    """Base for every broken domain rule, so callers can catch them as one family."""
