"""The nightly runs under the print folder, as the runs page lists them.

A run is a folder ``OUT/<YYYY-MM-DD>[-N]/`` with the ``manifest.json`` the batch keeps
(``recorder.py``). Only those manifests are read, and only through ``resolve_under``:
a folder or manifest that is a symlink out of ``OUT`` is not a run. Newest runs come
first, ordered by their folder names (reading every manifest of a year of nights to
sort them would cost more than the page); within a run, the tickets that need a look
(``failed``, then ``incomplete``) come first with their problems, then the others.
A manifest that cannot be read is listed as such, never a crash.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from werkzeug.exceptions import NotFound

from ..outcomes import TicketStatus
from ..recorder import MANIFEST
from .files import resolve_under

RUN_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:-(\d+))?$")
ATTENTION = (TicketStatus.FAILED, TicketStatus.INCOMPLETE)


class RunState(StrEnum):
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    STOPPED = "stopped on an error"
    UNFINISHED = "not finished (still running, or killed)"


@dataclass(frozen=True)
class RunTicket:
    """One ticket of a run; ``pdf`` is its path under OUT when the file is there."""

    label: str
    status: str
    problems: tuple[str, ...]
    pdf: str | None
    items: int | None
    reason: str
    revised: tuple[str, ...]


@dataclass(frozen=True)
class Run:
    folder: str
    brand: str
    started_at: datetime | None
    finished_at: datetime | None
    state: RunState
    error: str
    counts: tuple[tuple[str, int], ...]
    attention: tuple[RunTicket, ...]
    others: tuple[RunTicket, ...]
    skipped: tuple[tuple[str, str], ...]  # (order, why)
    combined: str | None
    unreadable: str | None = None  # why the manifest could not be read


def run_folders(out: Path) -> list[str]:
    """The names of the run folders directly under ``out``, newest first."""
    if not out.is_dir():
        return []
    found = []
    for manifest in out.glob(f"*/{MANIFEST}"):
        try:
            resolve_under(out, f"{manifest.parent.name}/{MANIFEST}", [".json"])
        except NotFound:
            continue
        found.append((_sort_key(manifest), manifest.parent.name))
    return [name for _, name in sorted(found, reverse=True)]


def _sort_key(manifest: Path) -> tuple[str, int, str]:
    match = RUN_NAME.match(manifest.parent.name)
    if match:
        return match.group(1), int(match.group(2) or 1), manifest.parent.name
    day = datetime.fromtimestamp(manifest.stat().st_mtime).strftime("%Y-%m-%d")
    return day, 0, manifest.parent.name


def read_run(out: Path, folder: str) -> Run:
    """The run in ``out/folder`` from its manifest."""
    try:
        path = resolve_under(out, f"{folder}/{MANIFEST}", [".json"])
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except NotFound:
        return _unreadable(folder, "no manifest.json")
    except (OSError, ValueError) as exc:
        return _unreadable(folder, f"manifest.json cannot be read ({exc})")
    tickets = [_ticket(out, folder, t) for t in _list(data.get("tickets")) if isinstance(t, dict)]
    rank = {status.value: n for n, status in enumerate(ATTENTION)}
    attention = sorted((t for t in tickets if t.status in rank), key=lambda t: rank[t.status])
    counts = data.get("counts") if isinstance(data.get("counts"), dict) else {}
    combined = data.get("combined")
    return Run(
        folder=folder,
        brand=_str(data.get("brand")),
        started_at=_when(data.get("started_at")),
        finished_at=_when(data.get("finished_at")),
        state=_state(data),
        error=_str(data.get("error")),
        counts=tuple((str(k), v) for k, v in counts.items() if isinstance(v, int)),
        attention=tuple(attention),
        others=tuple(t for t in tickets if t.status not in rank),
        skipped=tuple(
            (_label(s), _str(s.get("reason")))
            for s in _list(data.get("skipped"))
            if isinstance(s, dict)
        ),
        combined=_pdf(out, folder, combined) if isinstance(combined, str) else None,
    )


def _unreadable(folder: str, why: str) -> Run:
    return Run(folder, "", None, None, RunState.UNFINISHED, "", (), (), (), (), None, why)


def _state(data: dict[str, Any]) -> RunState:
    if data.get("error"):
        return RunState.STOPPED
    if data.get("interrupted"):
        return RunState.INTERRUPTED
    return RunState.FINISHED if data.get("finished_at") else RunState.UNFINISHED


def _ticket(out: Path, folder: str, entry: dict[str, Any]) -> RunTicket:
    items = entry.get("items")
    return RunTicket(
        label=_label(entry),
        status=_str(entry.get("status")),
        problems=tuple(_str(p) for p in _list(entry.get("problems"))),
        pdf=_pdf(out, folder, entry.get("file")),
        items=items if isinstance(items, int) else None,
        reason=_str(entry.get("reason")),
        revised=tuple(_str(r) for r in _list(entry.get("revised"))),
    )


def _pdf(out: Path, folder: str, name: Any) -> str | None:
    """``folder/name`` when ``name`` is a PDF that is there (a manifest is data, not
    a map of the disk: a name with a path in it is not followed)."""
    if not isinstance(name, str) or "/" in name or "\\" in name:
        return None
    try:
        resolve_under(out, f"{folder}/{name}", [".pdf"])
    except NotFound:
        return None
    return f"{folder}/{name}"


def _label(entry: dict[str, Any]) -> str:
    name, number = _str(entry.get("order_name")), entry.get("order_number")
    if name:
        return name
    return f"order {number}" if number is not None else _str(entry.get("order_id"))


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
