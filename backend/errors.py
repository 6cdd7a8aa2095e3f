"""Domain errors raised by services; one exception handler maps them to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Forbidden(DomainError):
    status_code = 403


class LoginRequired(DomainError):
    """No valid staff session: console pages redirect to the login page."""

    status_code = 401
