"""The one exception tree of prodsheets.

Every failure a user can meet is one of these; the CLI turns them into a one-line
message and an exit code in a single place (``cli.py``).

    ProdsheetsError
    ├── ConfigError        missing or unreadable configuration (token, brand, file)
    ├── ApiError           anything the MyCustomizer API did or did not answer
    │   ├── AuthError          401: the token is wrong or expired
    │   ├── NotFoundError      404: no such order / design, or the brand is wrong
    │   ├── ServerError        5xx (after retries where retrying makes sense)
    │   ├── ApiUnreachable     DNS failure, connection refused, timeout
    │   └── BadResponse        not JSON, or JSON of the wrong shape
    ├── AssetError         an image could not be downloaded or is unusable
    ├── RenderError        the ticket could not be laid out or written
    └── BatchError         the nightly batch could not start (lock held, state unreadable)

Messages never contain the API token: build them from URLs, ids and statuses only.
"""

from __future__ import annotations


class ProdsheetsError(Exception):
    """Base of every error prodsheets raises on purpose."""


class ConfigError(ProdsheetsError):
    """The configuration is incomplete or unreadable."""


class ApiError(ProdsheetsError):
    """The MyCustomizer API could not give what was asked."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None):
        super().__init__(message)
        self.status = status
        self.url = url


class AuthError(ApiError):
    """401: the API refused the token."""


class NotFoundError(ApiError):
    """404: the order or design does not exist, or the brand name is wrong."""


class ServerError(ApiError):
    """The API answered 5xx, after retries for the statuses worth retrying."""


class ApiUnreachable(ApiError):
    """No answer at all: DNS, refused connection or timeout."""


class BadResponse(ApiError):
    """The API answered, but not with JSON of the documented shape."""


class AssetError(ProdsheetsError):
    """An asset (design image, logo) is refused, unreachable or not a usable image."""

    def __init__(self, message: str, *, url: str | None = None):
        super().__init__(message)
        self.url = url


class RenderError(ProdsheetsError):
    """The ticket could not be rendered or written."""


class BatchError(ProdsheetsError):
    """The batch could not start or record its work."""
