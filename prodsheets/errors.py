"""The one exception tree of prodsheets.

Every failure a user can meet is one of these; the CLI turns them into a one-line
message and an exit code in a single place (``cli/__init__.py``). Errors are told apart
by type, never by their message text.

    ProdsheetsError
    ├── ConfigError        missing, unreadable or invalid configuration (token, brand, file,
    │                      QR template, page size)
    ├── InputError         a local file given on the command line cannot be used
    ├── ApiError           anything the MyCustomizer API did or did not answer
    │   ├── AuthError          401: the token is wrong or expired
    │   ├── WrongBrandError    404 "Trying to launch invalid tenant.": the brand is wrong
    │   ├── NotFoundError      404: no such order or design
    │   ├── ServerError        429 or 5xx after retries              (transient)
    │   ├── ApiUnreachable     DNS failure, refused connection, timeout (transient)
    │   └── BadResponse        not JSON, or JSON of the wrong shape
    ├── AssetError         an image could not be downloaded or is unusable
    │                      (transient when the network failed, not the file)
    ├── ScanError          a scanned code is not one of ours, or cannot be checked
    ├── RenderError        the ticket could not be laid out or written
    │   └── WorkersGaveUp      the render processes keep dying: the run stops
    ├── PrintError         a PDF could not be sent to the printer (the PDF itself is kept)
    │   ├── PrinterUnreachable no answer: DNS, refused connection, timeout, no CUPS
    │   │                      scheduler                                 (transient)
    │   ├── SendUncertain      the document went out but no answer came back: the printer
    │   │                      may or may not have the job               (transient)
    │   ├── PrinterNotFound    no such CUPS queue, or nothing prints at that URI
    │   ├── PrinterUntrusted   ipps/https: its certificate is not trusted, or not the pinned one
    │   ├── PrinterNotReady    stopped, or not accepting jobs (state and reasons) (transient)
    │   └── PrinterRefused     it answered no: wants a password, needs TLS, an IPP error
    │       ├── FormatRefused      it does not accept application/pdf (says what it does)
    │       └── JobRefused         this one job was refused; the next one may pass
    └── BatchError         the nightly batch could not start or record (lock held, state)

``transient`` says whether trying again later may help: a transient failure leaves an
order ``failed`` and retried by the next run; anything else is permanent and is printed
on the ticket instead of being retried every night.

``PrintError.printer_wide`` says whether the failure concerns every job (the printer is
down, refuses PDF…: stop sending, the next run sends the rest) or only this one.

Messages never contain the API token: build them from URLs, ids and statuses only.
"""

from __future__ import annotations


class ProdsheetsError(Exception):
    """Base of every error prodsheets raises on purpose."""

    transient: bool = False


class ConfigError(ProdsheetsError):
    """The configuration is incomplete, unreadable or invalid."""


class InputError(ProdsheetsError):
    """A local file given by the user cannot be read or is not what it should be."""


class ApiError(ProdsheetsError):
    """The MyCustomizer API could not give what was asked."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None):
        super().__init__(message)
        self.status = status
        self.url = url


class AuthError(ApiError):
    """401: the API refused the token."""


class WrongBrandError(ApiError):
    """The API does not know the brand (its 404 ``Trying to launch invalid tenant.``).

    Not a ``NotFoundError``: a missing design is a problem of one order, a wrong brand
    stops everything."""


class NotFoundError(ApiError):
    """404: the order or design does not exist."""


class ServerError(ApiError):
    """The API answered 429 or 5xx, after retries for the statuses worth retrying."""

    transient = True


class ApiUnreachable(ApiError):
    """No answer at all: DNS, refused connection or timeout."""

    transient = True


class BadResponse(ApiError):
    """The API answered, but not with JSON of the documented shape."""


class AssetError(ProdsheetsError):
    """An asset (design image, logo) is refused, unreachable or not a usable image."""

    def __init__(self, message: str, *, url: str | None = None, transient: bool = False):
        super().__init__(message)
        self.url = url
        self.transient = transient

    def __reduce__(self):  # keyword arguments survive the trip to a render worker
        return _asset_error, (str(self), self.url, self.transient)


class ScanError(ProdsheetsError):
    """A scanned code is not a prodsheets ticket code, or carries too little to check."""


class RenderError(ProdsheetsError):
    """The ticket could not be rendered or written."""


class WorkersGaveUp(RenderError):
    """Render worker processes died again and again (memory?): no point going on."""


class BatchError(ProdsheetsError):
    """The batch could not start or record its work."""


class PrintError(ProdsheetsError):
    """A PDF could not be sent to the printer. ``printer`` names it as configured;
    ``status`` is the IPP status code when the printer gave one."""

    printer_wide: bool = True

    def __init__(self, message: str, *, printer: str = "", status: int | None = None):
        super().__init__(message)
        self.printer = printer
        self.status = status


class PrinterUnreachable(PrintError):
    """No answer: DNS failure, refused connection, timeout, no CUPS scheduler."""

    transient = True


class SendUncertain(PrintError):
    """The document went out but no answer came back: the printer may have the job.
    Sending it again could print it twice, so the batch asks the printer first."""

    transient = True


class PrinterNotFound(PrintError):
    """No CUPS queue of that name, or the URI's path is not a printer."""


class PrinterUntrusted(PrintError):
    """ipps/https: the printer's certificate is not trusted (self-signed?) or is not the
    one whose fingerprint was pinned. ``fingerprint`` is the one it presented."""

    def __init__(self, message: str, *, printer: str = "", fingerprint: str | None = None):
        super().__init__(message, printer=printer)
        self.fingerprint = fingerprint


class PrinterNotReady(PrintError):
    """The printer answered but takes no jobs now: stopped, or not accepting jobs."""

    transient = True


class PrinterRefused(PrintError):
    """The printer answered no: it wants a password, needs TLS, or gave an IPP error."""


class FormatRefused(PrinterRefused):
    """The printer does not accept application/pdf."""


class JobRefused(PrinterRefused):
    """This one job was refused (say, an attribute the printer rejects); others may pass."""

    printer_wide = False


def _asset_error(message: str, url: str | None, transient: bool) -> AssetError:
    return AssetError(message, url=url, transient=transient)
