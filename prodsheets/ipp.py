"""IPP over HTTP: the small part of RFC 8010 (encoding) and RFC 8011 (operations) that
printing a ticket on a printer directly needs, no CUPS involved.

    message   = version(2) code(2) request-id(4) {group-tag {attribute}} end-tag document
    attribute = value-tag(1) name-length(2) name value-length(2) value
                a 1setOf repeats value-tag + value with an empty name; a collection is
                begCollection, then memberAttrName + value(s) per member, endCollection

Decoded values are plain Python: int, bool, str, bytes (octetString), datetime
(dateTime), ``(lower, upper)`` ranges, ``Resolution``, collections as
``{member: [values]}`` and ``OutOfBand`` for 'unknown', 'no-value', 'unsupported'.

Written here rather than taken from PyPI: pyipp is asyncio-only and silently drops
attributes it has no tag for, pycups needs the CUPS headers to build and only talks to
a CUPS server, ippx is a 0.1 that cannot encode collections. The encoding is small and
the project already has ``requests``.

TLS (``ipps://``, ``https://``): the certificate is verified against the system's CAs
(or ``REQUESTS_CA_BUNDLE``) by default. Printers mostly present self-signed
certificates; for those a SHA-256 ``fingerprint`` pins the one certificate to trust
(hostname and chain are then not checked). A certificate that fails either way raises
``PrinterUntrusted`` carrying the fingerprint the printer presented, so the user can
compare it with the printer's own status page and pin it: trust on first use, but made
by a person, never silently.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import ssl
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum, IntEnum
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import requests

from . import __version__
from .errors import (
    FormatRefused,
    JobRefused,
    PrinterNotFound,
    PrinterNotReady,
    PrinterRefused,
    PrintError,
    PrinterUnreachable,
    PrinterUntrusted,
    SendUncertain,
)

USER = "prodsheets"  # requesting-user-name of every request
VERSION = (1, 1)  # every IPP printer speaks 1.1
TIMEOUT = (5.0, 60.0)  # connect, read: a printer may take a while to take a document


class Tag(IntEnum):
    # delimiters
    OPERATION = 0x01
    JOB = 0x02
    END = 0x03
    PRINTER = 0x04
    UNSUPPORTED_GROUP = 0x05
    # out-of-band values
    UNSUPPORTED = 0x10
    UNKNOWN = 0x12
    NO_VALUE = 0x13
    # integers
    INTEGER = 0x21
    BOOLEAN = 0x22
    ENUM = 0x23
    # octet strings
    OCTET_STRING = 0x30
    DATETIME = 0x31
    RESOLUTION = 0x32
    RANGE = 0x33
    BEGIN_COLLECTION = 0x34
    TEXT_WITH_LANGUAGE = 0x35
    NAME_WITH_LANGUAGE = 0x36
    END_COLLECTION = 0x37
    # character strings
    TEXT = 0x41
    NAME = 0x42
    KEYWORD = 0x44
    URI = 0x45
    URI_SCHEME = 0x46
    CHARSET = 0x47
    LANGUAGE = 0x48
    MIME_TYPE = 0x49
    MEMBER_NAME = 0x4A
    EXTENSION = 0x7F


class Op(IntEnum):
    PRINT_JOB = 0x0002
    GET_JOB_ATTRIBUTES = 0x0009
    GET_JOBS = 0x000A
    GET_PRINTER_ATTRIBUTES = 0x000B


class Status(IntEnum):
    """The status codes prodsheets reacts to (any other is reported by its number)."""

    OK = 0x0000
    OK_IGNORED_OR_SUBSTITUTED = 0x0001
    OK_CONFLICTING = 0x0002
    BAD_REQUEST = 0x0400
    FORBIDDEN = 0x0401
    NOT_AUTHENTICATED = 0x0402
    NOT_AUTHORIZED = 0x0403
    NOT_POSSIBLE = 0x0404
    NOT_FOUND = 0x0406
    DOCUMENT_FORMAT_NOT_SUPPORTED = 0x040A
    ATTRIBUTES_OR_VALUES_NOT_SUPPORTED = 0x040B
    INTERNAL_ERROR = 0x0500
    OPERATION_NOT_SUPPORTED = 0x0501
    SERVICE_UNAVAILABLE = 0x0502
    VERSION_NOT_SUPPORTED = 0x0503
    NOT_ACCEPTING_JOBS = 0x0506
    BUSY = 0x0507


def status_name(code: int) -> str:
    try:
        return Status(code).name.lower().replace("_", "-")
    except ValueError:
        return f"status 0x{code:04x}"


class OutOfBand(Enum):
    UNSUPPORTED = Tag.UNSUPPORTED
    UNKNOWN = Tag.UNKNOWN
    NO_VALUE = Tag.NO_VALUE


class Resolution(NamedTuple):
    x: int
    y: int
    units: int  # 3: dots per inch, 4: dots per cm


@dataclass(frozen=True)
class Attribute:
    """One attribute to encode. A collection's values are tuples of member Attributes."""

    name: str
    tag: Tag
    values: tuple[Any, ...]

    @classmethod
    def of(cls, name: str, tag: Tag, *values: Any) -> Attribute:
        return cls(name, tag, values)


@dataclass
class Message:
    """A decoded request or response. ``code`` is the operation or the status."""

    version: tuple[int, int]
    code: int
    request_id: int
    groups: list[tuple[Tag, dict[str, list[Any]]]] = field(default_factory=list)
    data: bytes = b""

    def group(self, tag: Tag) -> dict[str, list[Any]]:
        """The first group with ``tag`` ({} when there is none)."""
        return next((attrs for t, attrs in self.groups if t == tag), {})

    def all_groups(self, tag: Tag) -> list[dict[str, list[Any]]]:
        """Every group with ``tag`` (Get-Jobs answers one job group per job)."""
        return [attrs for t, attrs in self.groups if t == tag]

    def first(self, name: str, default: Any = None) -> Any:
        """The first value of ``name`` in any group."""
        for _, attrs in self.groups:
            if attrs.get(name):
                return attrs[name][0]
        return default


# -- encoding ------------------------------------------------------------------------


def encode(code: int, request_id: int, groups, data: bytes = b"", version=VERSION) -> bytes:
    """``groups``: ``[(Tag.OPERATION, [Attribute, ...]), ...]``."""
    out = bytearray(struct.pack(">bbHi", version[0], version[1], code, request_id))
    for tag, attributes in groups:
        out.append(tag)
        for attribute in attributes:
            out += _encode_attribute(attribute.name, attribute.tag, attribute.values)
    out.append(Tag.END)
    return bytes(out) + data


def _encode_attribute(name: str, tag: Tag, values: tuple[Any, ...]) -> bytes:
    if not values:
        raise ValueError(f"attribute {name!r} has no value")
    out = bytearray()
    for i, value in enumerate(values):  # the name only on the first value of a 1setOf
        out += _field(tag, name if i == 0 else "", b"" if tag == Tag.BEGIN_COLLECTION else
                      _encode_value(tag, value))  # fmt: skip
        if tag == Tag.BEGIN_COLLECTION:
            for member in value:
                out += _field(Tag.MEMBER_NAME, "", member.name.encode())
                out += _encode_attribute("", member.tag, member.values)
            out += _field(Tag.END_COLLECTION, "", b"")
    return bytes(out)


def _field(tag: int, name: str, value: bytes) -> bytes:
    encoded = name.encode()
    return struct.pack(">BH", tag, len(encoded)) + encoded + struct.pack(">H", len(value)) + value


def _encode_value(tag: Tag, value: Any) -> bytes:
    if tag in (Tag.INTEGER, Tag.ENUM):
        return struct.pack(">i", value)
    if tag == Tag.BOOLEAN:
        return b"\x01" if value else b"\x00"
    if tag == Tag.RANGE:
        return struct.pack(">ii", *value)
    if tag == Tag.RESOLUTION:
        return struct.pack(">iib", *value)
    if tag == Tag.DATETIME:
        return _encode_datetime(value)
    if tag in (Tag.UNSUPPORTED, Tag.UNKNOWN, Tag.NO_VALUE):
        return b""
    if tag in (Tag.TEXT_WITH_LANGUAGE, Tag.NAME_WITH_LANGUAGE):
        language, text = (part.encode() for part in value)
        return struct.pack(">H", len(language)) + language + struct.pack(">H", len(text)) + text
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _encode_datetime(moment: datetime) -> bytes:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(abs(offset.total_seconds()) // 60)
    sign = b"-" if offset < timedelta(0) else b"+"
    return struct.pack(">HBBBBBB", moment.year, moment.month, moment.day, moment.hour,
                       moment.minute, moment.second, moment.microsecond // 100_000) + sign + \
        struct.pack(">BB", minutes // 60, minutes % 60)  # fmt: skip


# -- decoding ------------------------------------------------------------------------


class DecodeError(ValueError):
    """The bytes are not an IPP message."""


def decode(buf: bytes) -> Message:
    """Parse a message; tolerant of what RFC 8010 allows (extension tags, unknown value
    tags as raw bytes), strict about lengths."""
    if len(buf) < 9:
        raise DecodeError(f"too short for IPP ({len(buf)} bytes)")
    major, minor, code, request_id = struct.unpack(">bbHi", buf[:8])
    message = Message((major, minor), code, request_id)
    pos = 8
    attrs: dict[str, list[Any]] | None = None
    last = ""
    stack: list[tuple[dict[str, list[Any]], list[str]]] = []  # open collections
    while pos < len(buf):
        tag = buf[pos]
        pos += 1
        if tag == Tag.END:
            if stack:
                raise DecodeError("collection not closed")
            message.data = buf[pos:]
            return message
        if tag < 0x10:  # a delimiter: a new group begins
            attrs = {}
            message.groups.append((Tag(tag) if tag in Tag._value2member_map_ else tag, attrs))
            continue
        name_len = struct.unpack(">H", _take(buf, pos, 2))[0]
        name = _take(buf, pos + 2, name_len).decode("utf-8", "replace")
        pos += 2 + name_len
        value_len = struct.unpack(">H", _take(buf, pos, 2))[0]
        raw = _take(buf, pos + 2, value_len)
        pos += 2 + value_len
        if tag == Tag.EXTENSION:  # the real type is the value's first four octets
            tag, raw = struct.unpack(">I", _take(raw, 0, 4))[0], raw[4:]
        if attrs is None:
            raise DecodeError("attribute before the first group")
        if stack:
            members, member = stack[-1]
            if tag == Tag.MEMBER_NAME:
                member[0] = raw.decode("utf-8", "replace")
                continue
            if tag == Tag.END_COLLECTION:
                stack.pop()
                continue
            sink = members.setdefault(member[0], [])
        else:
            if name:  # an empty name: one more value of the attribute before
                last = name
                attrs.setdefault(name, [])
            elif last not in attrs:
                raise DecodeError("additional value without an attribute")
            sink = attrs[last]
        if tag == Tag.BEGIN_COLLECTION:
            collection: dict[str, list[Any]] = {}
            sink.append(collection)
            stack.append((collection, [""]))
        else:
            sink.append(_decode_value(tag, raw))
    raise DecodeError("no end-of-attributes tag")


def _take(buf: bytes, pos: int, length: int) -> bytes:
    if pos + length > len(buf):
        raise DecodeError("truncated")
    return buf[pos : pos + length]


def _decode_value(tag: int, raw: bytes) -> Any:
    try:
        if tag in (Tag.INTEGER, Tag.ENUM):
            return struct.unpack(">i", raw)[0]
        if tag == Tag.BOOLEAN:
            return raw != b"\x00"
        if tag == Tag.RANGE:
            return struct.unpack(">ii", raw)
        if tag == Tag.RESOLUTION:
            return Resolution(*struct.unpack(">iib", raw))
        if tag == Tag.DATETIME:
            return _decode_datetime(raw)
        if tag in (Tag.TEXT_WITH_LANGUAGE, Tag.NAME_WITH_LANGUAGE):
            language_len = struct.unpack(">H", raw[:2])[0]
            return raw[4 + language_len :].decode("utf-8", "replace")
    except (struct.error, ValueError) as exc:
        raise DecodeError(f"bad value for tag 0x{tag:02x}: {exc}") from None
    if tag in OutOfBand._value2member_map_:
        return OutOfBand(tag)
    if tag < 0x40:  # octetString and value tags this module does not know: raw bytes
        return raw
    return raw.decode("utf-8", "replace")


def _decode_datetime(raw: bytes) -> datetime:
    year, month, day, hour, minute, second, deci = struct.unpack(">HBBBBBB", raw[:8])
    sign, hours, minutes = raw[8:9], raw[9], raw[10]
    offset = timedelta(hours=hours, minutes=minutes) * (-1 if sign == b"-" else 1)
    return datetime(year, month, day, hour, minute, second, deci * 100_000,
                    tzinfo=timezone(offset))  # fmt: skip


# -- addresses -----------------------------------------------------------------------


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


def normalize_fingerprint(text: str) -> str:
    """``ab:cd…`` or ``abcd…`` (SHA-256, 64 hex digits) -> ``AB:CD:…``; ValueError else."""
    digits = text.replace(":", "").replace(" ", "").strip().upper()
    if len(digits) != 64 or any(c not in "0123456789ABCDEF" for c in digits):
        raise ValueError(f"not a SHA-256 fingerprint: {text!r} (64 hex digits, colons optional)")
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2))


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
