"""IPP's wire format: the part of RFC 8010 that printing a ticket needs, both ways.

    message   = version(2) code(2) request-id(4) {group-tag {attribute}} end-tag document
    attribute = value-tag(1) name-length(2) name value-length(2) value
                a 1setOf repeats value-tag + value with an empty name; a collection is
                begCollection, then memberAttrName + value(s) per member, endCollection

Decoded values are plain Python: int, bool, str, bytes (octetString), datetime
(dateTime), ``(lower, upper)`` ranges, ``Resolution``, collections as
``{member: [values]}`` and ``OutOfBand`` for 'unknown', 'no-value', 'unsupported'.
``ipp_printer.py`` sends these messages over HTTP.

Written here rather than taken from PyPI: pyipp is asyncio-only and silently drops
attributes it has no tag for, pycups needs the CUPS headers to build and only talks to
a CUPS server, ippx is a 0.1 that cannot encode collections. The encoding is small, and
pure: this module does no I/O.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum, IntEnum
from typing import Any, NamedTuple

VERSION = (1, 1)  # every IPP printer speaks 1.1


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


def normalize_fingerprint(text: str) -> str:
    """``ab:cd…`` or ``abcd…`` (SHA-256, 64 hex digits) -> ``AB:CD:…``; ValueError else."""
    digits = text.replace(":", "").replace(" ", "").strip().upper()
    if len(digits) != 64 or any(c not in "0123456789ABCDEF" for c in digits):
        raise ValueError(f"not a SHA-256 fingerprint: {text!r} (64 hex digits, colons optional)")
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2))
