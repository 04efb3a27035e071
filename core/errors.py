"""One error type per GraphQL error code. Their messages and codes reach the client unmasked;
any other exception is masked as "Unexpected error." (see :func:`tablero.schema.build_schema`)."""

from __future__ import annotations


class TableroError(Exception):
    """A domain error whose message is safe to show and whose ``code`` goes to ``extensions``."""

    code = "INTERNAL_SERVER_ERROR"
    http_status = 500

    def __init__(self, message: str, **details: object):
        super().__init__(message)
        self.message = message
        self.extensions: dict[str, object] = {"code": self.code, **details}


class BadUserInput(TableroError):
    code = "BAD_USER_INPUT"
    http_status = 400


class Forbidden(TableroError):
    code = "FORBIDDEN"
    http_status = 403


class Unauthenticated(TableroError):
    code = "UNAUTHENTICATED"
    http_status = 401


class NotFound(TableroError):
    code = "NOT_FOUND"
    http_status = 404


class StartupError(RuntimeError):
    """Plugin contributions that cannot be assembled (duplicate names, missing permissions)."""
