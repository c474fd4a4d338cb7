"""A printer spoken to directly with IPP over HTTP (``ipp://``, ``ipps://``,
``http(s)://``), no CUPS involved.

    IppClient    one printer URI: requests with a timeout each, an injectable session,
                 the answers' error statuses as the ``PrintError`` tree
    IppPrinter   the ``printing.Printer`` made of it (status, submit, jobs)

TLS (``ipps://``, ``https://``): the certificate is verified against the system's CAs
(or ``REQUESTS_CA_BUNDLE``) by default. Printers mostly present self-signed
certificates; for those a SHA-256 ``fingerprint`` pins the one certificate to trust
(hostname and chain are then not checked; urllib3 compares it during the handshake,
before a byte of the request goes out). A certificate that fails either way raises
``PrinterUntrusted`` carrying the fingerprint the printer presented, so a person can
compare it with the printer's own status page and pin it: trust on first use, decided
by a person, never silently. A document is sent whole from memory (tickets are small).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from . import __version__
from .errors import (
    FormatRefused,
    InputError,
    JobRefused,
    PrinterNotFound,
    PrinterNotReady,
    PrinterRefused,
    PrintError,
    PrinterUnreachable,
    PrinterUntrusted,
    SendUncertain,
)
from .ipp import (
    Attribute,
    DecodeError,
    Message,
    Op,
    Status,
    Tag,
    decode,
    encode,
    normalize_fingerprint,
    status_name,
)
from .printing import (
    PDF,
    USER,
    Job,
    JobInfo,
    JobState,
    JobStatus,
    Printer,
    PrinterState,
    PrinterStatus,
)

TIMEOUT = (5.0, 60.0)  # connect, read: a printer may take a while to take a document
BUSY_WAIT = 120.0  # seconds a job is offered again to a printer that says it is busy


# -- addresses -------------------------------------------------------------------------


def http_url(printer_uri: str) -> str:
    """Where to POST: ``ipp://h/p`` -> ``http://h:631/p``, ``ipps://`` -> ``https://h:631``."""
    parts = urlsplit(printer_uri)
    if parts.scheme in ("http", "https"):
        return printer_uri
    netloc = parts.netloc if parts.port else f"{parts.netloc}:631"
    scheme = "https" if parts.scheme == "ipps" else "http"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def ipp_uri(printer_uri: str) -> str:
    """The ``printer-uri`` attribute: http(s) spelled as ipp(s), the port explicit."""
    parts = urlsplit(printer_uri)
    if parts.scheme in ("ipp", "ipps"):
        return printer_uri
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    scheme = "ipps" if parts.scheme == "https" else "ipp"
    return urlunsplit((scheme, f"{host}:{port}", parts.path or "/", parts.query, ""))


def presented_fingerprint(host: str, port: int, timeout: float = 5.0) -> str | None:
    """The SHA-256 fingerprint of the certificate ``host:port`` presents (unverified: it is
    only shown to a person, to compare with the printer's status page)."""
    try:
        pem = ssl.get_server_certificate((host, port), timeout=timeout)
    except (OSError, ssl.SSLError, ValueError):
        return None
    return normalize_fingerprint(hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest())


class _PinnedAdapter(requests.adapters.HTTPAdapter):
    """HTTPS that trusts exactly the certificate with this fingerprint (urllib3 checks it
    during the handshake, before any byte of the request is sent)."""

    def __init__(self, fingerprint: str) -> None:
        self._fingerprint = fingerprint.replace(":", "").lower()
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self._fingerprint
        super().init_poolmanager(*args, **kwargs)


# -- the client ----------------------------------------------------------------------

_REQUEST_IDS = itertools.count(1)
_PRINTER_OPS = (Op.GET_PRINTER_ATTRIBUTES, Op.GET_JOBS)


class IppClient:
    """Requests to one printer URI (``ipp``, ``ipps``, ``http``, ``https``).

    ``session`` is injectable; ``timeout`` applies to every request. Failures raise the
    ``PrintError`` tree, the printer named by its URI."""

    def __init__(
        self,
        uri: str,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = TIMEOUT,
        fingerprint: str | None = None,
    ) -> None:
        self.uri = uri
        self.url = http_url(uri)
        self.printer_uri = ipp_uri(uri)
        self.timeout = timeout
        self.fingerprint = normalize_fingerprint(fingerprint) if fingerprint else None
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = f"prodsheets/{__version__}"
        parts = urlsplit(self.url)
        self._host, self._port = parts.hostname or "", parts.port or 443
        self._tls = parts.scheme == "https"
        if self._tls and self.fingerprint:
            self.session.mount(f"https://{parts.netloc}/", _PinnedAdapter(self.fingerprint))

    def close(self) -> None:
        self.session.close()

    # -- operations -------------------------------------------------------------------

    def get_printer_attributes(self, requested: tuple[str, ...]) -> dict[str, list[Any]]:
        answer = self.request(Op.GET_PRINTER_ATTRIBUTES, [_requested(requested)])
        return answer.group(Tag.PRINTER)

    def print_job(
        self, document: bytes, *, job_name: str, document_format: str, media: str | None
    ) -> Message:
        """Print-Job; the answer's job group holds ``job-id`` and ``job-state``, its
        unsupported group what the printer ignored or substituted."""
        operation = [
            Attribute.of("job-name", Tag.NAME, job_name),
            Attribute.of("document-format", Tag.MIME_TYPE, document_format),
        ]
        job = [Attribute.of("media", Tag.KEYWORD, media)] if media else []
        return self.request(Op.PRINT_JOB, operation, job, document=document)

    def get_job_attributes(
        self, job_id: int, requested: tuple[str, ...]
    ) -> dict[str, list[Any]] | None:
        """The job's attributes, or None when the printer no longer knows the job."""
        answer = self.request(
            Op.GET_JOB_ATTRIBUTES,
            [Attribute.of("job-id", Tag.INTEGER, job_id), _requested(requested)],
            allow=(Status.NOT_FOUND,),
        )
        return None if answer.code == Status.NOT_FOUND else answer.group(Tag.JOB)

    def get_jobs(self, requested: tuple[str, ...], which: str = "all") -> list[dict]:
        """prodsheets' own jobs (``my-jobs``), newest included, as the printer keeps them."""
        answer = self.request(Op.GET_JOBS, [
            Attribute.of("which-jobs", Tag.KEYWORD, which),
            Attribute.of("my-jobs", Tag.BOOLEAN, True),
            _requested(requested),
        ])  # fmt: skip
        return answer.all_groups(Tag.JOB)

    # -- transport ----------------------------------------------------------------------

    def request(
        self,
        operation: Op,
        attributes: list[Attribute],
        job: list[Attribute] | None = None,
        *,
        document: bytes = b"",
        allow: tuple[Status, ...] = (),
    ) -> Message:
        """One request; raises the ``PrintError`` tree (see ``_raise_for``)."""
        head = [
            Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
            Attribute.of("attributes-natural-language", Tag.LANGUAGE, "en"),
            Attribute.of("printer-uri", Tag.URI, self.printer_uri),
            Attribute.of("requesting-user-name", Tag.NAME, USER),
            *attributes,
        ]
        groups = [(Tag.OPERATION, head)] + ([(Tag.JOB, job)] if job else [])
        body = encode(operation, next(_REQUEST_IDS), groups, document)
        try:
            response = self.session.post(
                self.url, data=body, timeout=self.timeout,
                verify=self._tls and not self.fingerprint,
                headers={"Content-Type": "application/ipp"},
            )  # fmt: skip
        except requests.exceptions.SSLError as exc:
            raise self._untrusted(exc) from None
        except requests.RequestException as exc:
            if operation == Op.PRINT_JOB and not _never_connected(exc):
                raise SendUncertain(
                    f"{self.uri} did not answer after the document went out ({_reason(exc)}): "
                    "it may or may not have the job", printer=self.uri,
                ) from None  # fmt: skip
            raise PrinterUnreachable(f"cannot reach {self.uri}: {_reason(exc)}",
                                     printer=self.uri) from None  # fmt: skip
        if response.status_code != 200:
            raise self._http_error(response.status_code)
        try:
            answer = decode(response.content)
        except DecodeError as exc:
            raise PrinterRefused(f"{self.uri} did not answer in IPP ({exc})",
                                 printer=self.uri) from None  # fmt: skip
        if answer.code >= 0x0100 and answer.code not in allow:
            raise _raise_for(answer, operation, self.uri)
        return answer

    def _untrusted(self, exc: Exception) -> PrinterUntrusted:
        seen = presented_fingerprint(self._host, self._port)
        shown = f"its SHA-256 fingerprint is {seen}" if seen else "it showed no certificate"
        if self.fingerprint:
            message = (f"{self.uri}: the printer's certificate is not the pinned one "
                       f"({self.fingerprint}); {shown}. A new certificate (a reset, new "
                       "firmware) or another device: check the printer's status page, "
                       "then update PRODSHEETS_PRINTER_FINGERPRINT")  # fmt: skip
        else:
            message = (f"{self.uri}: the printer's certificate is not trusted ({_reason(exc)}); "
                       f"{shown}. If the printer's own status page shows the same, trust it "
                       "with PRODSHEETS_PRINTER_FINGERPRINT=<fingerprint> (or "
                       "printer_fingerprint in prodsheets.toml)")  # fmt: skip
        return PrinterUntrusted(message, printer=self.uri, fingerprint=seen)

    def _http_error(self, status: int) -> PrintError:
        where = f"{self.uri} answered HTTP {status}"
        if status == 404:
            return PrinterNotFound(f"{where}: no printer at that address", printer=self.uri)
        if status in (401, 403):
            return PrinterRefused(
                f"{where}: it wants a password; prodsheets does not log in "
                "to printers, print through a CUPS queue",
                printer=self.uri,
            )
        if status == 426:
            return PrinterRefused(f"{where}: it needs TLS, use ipps://", printer=self.uri)
        if status >= 500:
            return PrinterUnreachable(f"{where}", printer=self.uri)
        return PrinterRefused(where, printer=self.uri)


def _requested(names: tuple[str, ...]) -> Attribute:
    return Attribute("requested-attributes", Tag.KEYWORD, tuple(names))


def _raise_for(answer: Message, operation: Op, uri: str) -> PrintError:
    """An IPP error status as the matching error type."""
    code = answer.code
    text = f"{uri}: {status_name(code)}"
    detail = answer.first("status-message")
    if detail:
        text += f" ({detail})"
    unsupported = answer.group(Tag.UNSUPPORTED_GROUP)
    kind: type[PrintError]
    if code == Status.NOT_ACCEPTING_JOBS or code in (Status.BUSY, Status.SERVICE_UNAVAILABLE):
        kind = PrinterNotReady
    elif code == Status.DOCUMENT_FORMAT_NOT_SUPPORTED or (
        code == Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED and "document-format" in unsupported
    ):
        kind = FormatRefused
    elif code == Status.NOT_FOUND and operation in (*_PRINTER_OPS, Op.PRINT_JOB):
        kind = PrinterNotFound
    elif operation == Op.PRINT_JOB:
        kind = JobRefused
    else:
        kind = PrinterRefused
    return kind(text, printer=uri, status=code)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (requests -> urllib3 -> socket/ssl), outermost first."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        reason = getattr(seen, "reason", None)
        if isinstance(reason, BaseException):
            seen = reason
        elif seen.args and isinstance(seen.args[0], BaseException):
            seen = seen.args[0]
        else:
            seen = seen.__context__
    return chain


def _never_connected(exc: requests.RequestException) -> bool:
    """Whether the request failed before a connection existed (so nothing was sent)."""
    return isinstance(exc, requests.ConnectTimeout) or any(
        type(e).__name__ in ("NewConnectionError", "NameResolutionError") for e in _chain(exc)
    )


def _reason(exc: BaseException) -> str:
    """The useful end of a requests/urllib3 message: ``[Errno 111] Connection refused``."""
    text = str(_chain(exc)[-1]) or type(exc).__name__
    return re.sub(r" \(_ssl\.c:\d+\)$", "", text.rsplit("): ", 1)[-1].rsplit(": ", 1)[-1])


# -- the printer ----------------------------------------------------------------------


class IppPrinter(Printer):
    """A printer spoken to directly with IPP (``ipp://``, ``ipps://``, ``http(s)://``).

    A printer that takes one job at a time answers the next with "busy" while it prints;
    the job is offered again (backing off, for up to ``busy_wait`` seconds), as the IPP
    specification asks, rather than counted as not sent."""

    STATUS = ("printer-state", "printer-state-reasons", "printer-state-message",
              "printer-is-accepting-jobs", "document-format-supported", "media-supported",
              "media-default", "printer-make-and-model")  # fmt: skip
    BUSY = (Status.BUSY, Status.SERVICE_UNAVAILABLE)

    def __init__(
        self,
        client: IppClient,
        *,
        busy_wait: float = BUSY_WAIT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.name = client.uri
        self.busy_wait = busy_wait
        self._clock = clock
        self._sleep = sleep

    def status(self) -> PrinterStatus:
        attrs = self.client.get_printer_attributes(self.STATUS)
        one = lambda key, default=None: (attrs.get(key) or [default])[0]  # noqa: E731
        return PrinterStatus(
            printer=self.name,
            state=PrinterState.from_ipp(one("printer-state")),
            accepting=one("printer-is-accepting-jobs", True) is True,
            reasons=_reasons(attrs.get("printer-state-reasons", [])),
            message=str(one("printer-state-message", "") or "").strip(),
            formats=tuple(attrs["document-format-supported"])
            if "document-format-supported" in attrs else None,
            media=tuple(attrs["media-supported"]) if "media-supported" in attrs else None,
            media_default=one("media-default"),
            model=str(one("printer-make-and-model", "") or ""),
        )  # fmt: skip

    def submit(self, job: Job) -> tuple[int, tuple[str, ...]]:
        document = _read(job.path)
        deadline, pause = self._clock() + self.busy_wait, 0.1
        while True:
            try:
                answer = self.client.print_job(
                    document, job_name=job.name, document_format=PDF, media=job.media
                )
                break
            except PrinterNotReady as exc:
                if exc.status not in self.BUSY or self._clock() + pause > deadline:
                    raise
                self._sleep(pause)
                pause = min(pause * 2, 5.0)
        job_id = answer.group(Tag.JOB).get("job-id", [None])[0]
        if not isinstance(job_id, int):
            raise PrintError(f"{self.name} took {job.name} but gave no job id", printer=self.name)
        ignored = answer.group(Tag.UNSUPPORTED_GROUP)
        warnings = tuple(f"{self.name} ignored {name} = {values}" for name, values in
                         ignored.items())  # fmt: skip
        return job_id, warnings

    def job_status(self, job_id: int) -> JobStatus | None:
        attrs = self.client.get_job_attributes(
            job_id, ("job-state", "job-state-reasons", "job-state-message")
        )
        if attrs is None:
            return None
        return JobStatus(
            job_id,
            JobState.from_ipp((attrs.get("job-state") or [0])[0]),
            _reasons(attrs.get("job-state-reasons", [])),
            str((attrs.get("job-state-message") or [""])[0] or ""),
        )

    def jobs(self) -> list[JobInfo]:
        found = self.client.get_jobs(("job-id", "job-name", "date-time-at-creation", "job-state"))
        return [
            JobInfo(
                j["job-id"][0],
                (j.get("job-name") or [None])[0],
                (j.get("date-time-at-creation") or [None])[0],
                JobState.from_ipp((j.get("job-state") or [None])[0])
                if j.get("job-state")
                else None,
            )
            for j in found
            if j.get("job-id")
        ]

    def close(self) -> None:
        self.client.close()


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def _reasons(values: list[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values if str(v) != "none")
