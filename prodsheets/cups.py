"""A CUPS queue, driven with CUPS's own tools (``lp``, ``lpstat``, ``lpoptions``), the way
a person at the terminal would: ``lp -d workshop order-1001.pdf``.

The tools find the scheduler as every CUPS program does (``CUPS_SERVER``, then
``~/.cups/client.conf``, ``/etc/cups/client.conf``, the local socket), authenticate as
the system is set up to, and CUPS converts and delivers. They run with
``LC_ALL=C.UTF-8`` so their answers can be read, and with a timeout each.

What the tools cannot tell, and how prodsheets lives with it: CUPS converts what it is
given, so a queue's formats are not checked before sending (``lp`` says when PDF cannot
be printed); a raw queue lists no paper (tickets go without a paper choice, on the
printer's default); ``lpstat`` lists a job's id, owner and time but not its name, nor
whether a finished job completed or was canceled (``JobState.DONE``).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from .config import PageSize
from .errors import (
    FormatRefused,
    JobRefused,
    PrinterNotFound,
    PrinterNotReady,
    PrinterRefused,
    PrintError,
    PrinterUnreachable,
    SendUncertain,
)
from .printing import USER, Job, JobInfo, JobState, JobStatus, Printer, PrinterState, PrinterStatus

QUERY_TIMEOUT = 30.0
LP_TIMEOUT = 60.0
# PPD page size names (the part before any ".Borderless") -> IPP media names
_PPD_SIZES = {
    "a4": PageSize.A4.media,
    "letter": PageSize.LETTER.media,
    "a5": PageSize.A5.media,
    "4x6": PageSize.LABEL.media,
    "w288h432": PageSize.LABEL.media,
}
Runner = Callable[..., subprocess.CompletedProcess]


class CupsQueue(Printer):
    """``run`` is injectable (tests of the tools' odd answers); timeouts are seconds."""

    def __init__(
        self,
        name: str,
        *,
        run: Runner = subprocess.run,
        timeout: float = QUERY_TIMEOUT,
        lp_timeout: float = LP_TIMEOUT,
    ) -> None:
        self.name = name
        self._run_tool = run
        self.timeout = timeout
        self.lp_timeout = lp_timeout

    # -- Printer ------------------------------------------------------------------------

    def status(self) -> PrinterStatus:
        options = _options(self._query("lpoptions", "-p", self.name).stdout)
        if not options:  # lpoptions says nothing, and exits 0, for a queue it cannot find
            raise self._missing()
        media, default = _paper(self._query("lpoptions", "-p", self.name, "-l").stdout)
        return PrinterStatus(
            printer=self.name,
            state=PrinterState.from_ipp(_int(options.get("printer-state"))),
            accepting=options.get("printer-is-accepting-jobs") == "true",
            reasons=_reasons(options.get("printer-state-reasons", "")),
            message=_message(self._query("lpstat", "-p", self.name).stdout),
            formats=None,
            media=media,
            media_default=default,
            model=options.get("printer-make-and-model", ""),
        )

    def submit(self, job: Job) -> tuple[int, tuple[str, ...]]:
        args = ["lp", "-d", self.name, "-t", job.name, "-U", USER]
        if job.media:
            args += ["-o", f"media={job.media}"]
        args.append(str(Path(job.path).resolve()))  # absolute: never read as an option
        try:
            done = self._run(args, self.lp_timeout)
        except subprocess.TimeoutExpired:
            raise SendUncertain(
                f"lp did not finish sending {job.name} to {self.name} within "
                f"{self.lp_timeout:.0f} s: CUPS may or may not have the job",
                printer=self.name,
            ) from None
        if done.returncode != 0:
            raise self._lp_error(done.stderr.strip() or done.stdout.strip(), job)
        found = re.search(r"request id is (.+)-(\d+) \(", done.stdout)
        if not found:
            raise SendUncertain(f"lp took {job.name} for {self.name} but named no job: "
                                f"{done.stdout.strip()!r}", printer=self.name)  # fmt: skip
        return int(found.group(2)), ()

    def job_status(self, job_id: int) -> JobStatus | None:
        if job_id in self._listed("not-completed"):
            return JobStatus(job_id, JobState.PENDING, message="in the CUPS queue")
        if job_id in self._listed("completed"):
            return JobStatus(job_id, JobState.DONE)
        return None

    def jobs(self) -> list[JobInfo]:
        return [
            JobInfo(job_id, None, created)
            for job_id, (user, created) in self._listed("all").items()
            if user == USER
        ]

    # -- the tools ------------------------------------------------------------------------

    def _listed(self, which: str) -> dict[int, tuple[str, datetime | None]]:
        """``lpstat -W which -o QUEUE``: job id -> (owner, creation time)."""
        out = self._query("lpstat", "-W", which, "-o", self.name).stdout
        line = re.compile(rf"^{re.escape(self.name)}-(\d+)\s+(\S+)\s+\d+\s+(.+)$")
        jobs: dict[int, tuple[str, datetime | None]] = {}
        for text in out.splitlines():
            match = line.match(text.strip())
            if match:
                jobs[int(match.group(1))] = (match.group(2), _when(match.group(3)))
        return jobs

    def _query(self, *args: str) -> subprocess.CompletedProcess:
        try:
            return self._run(list(args), self.timeout)
        except subprocess.TimeoutExpired:
            raise PrinterUnreachable(
                f"{args[0]} got no answer from CUPS about {self.name} within {self.timeout:.0f} s",
                printer=self.name,
            ) from None

    def _run(self, args: list[str], timeout: float) -> subprocess.CompletedProcess:
        env = {**os.environ, "LC_ALL": "C.UTF-8"}
        try:
            return self._run_tool(args, capture_output=True, text=True, timeout=timeout,
                                  env=env, stdin=subprocess.DEVNULL)  # fmt: skip
        except FileNotFoundError:
            raise PrinterUnreachable(
                f"cannot print to CUPS queue {self.name}: {args[0]} is not installed "
                "(Debian: apt-get install cups-client)", printer=self.name,
            ) from None  # fmt: skip

    def _missing(self) -> PrintError:
        """No such queue, or no scheduler to ask: ``lpstat -r`` tells them apart."""
        running = self._query("lpstat", "-r").stdout.strip()
        if running == "scheduler is running":
            return PrinterNotFound(f"there is no CUPS queue {self.name} (lpstat -e lists "
                                   "the queues)", printer=self.name)  # fmt: skip
        server = os.environ.get("CUPS_SERVER") or "the local CUPS"
        return PrinterUnreachable(
            f"cannot reach the CUPS scheduler ({server}) for queue "
            f"{self.name}: {running or 'no answer'}",
            printer=self.name,
        )

    def _lp_error(self, text: str, job: Job) -> PrintError:
        lowered = text.lower()
        if "not accepting jobs" in lowered:
            return PrinterNotReady(f"printer {self.name} is not accepting jobs ({text})",
                                   printer=self.name)  # fmt: skip
        if "unsupported document-format" in lowered:
            return FormatRefused(
                f"CUPS queue {self.name} cannot print PDF ({text}): install "
                "cups-filters, or use a queue with a driver",
                printer=self.name,
            )
        if any(s in lowered for s in ("does not exist", "invalid destination", "unknown dest")):
            return self._missing()
        if any(
            s in lowered
            for s in (
                "unable to connect",
                "connection refused",
                "scheduler is not running",
                "bad file descriptor",
            )
        ):
            return PrinterUnreachable(f"cannot reach CUPS for {self.name}: {text}",
                                      printer=self.name)  # fmt: skip
        if any(s in lowered for s in ("forbidden", "unauthorized", "not authorized")):
            return PrinterRefused(f"CUPS refused {job.name} for {self.name}: {text}",
                                  printer=self.name)  # fmt: skip
        return JobRefused(f"CUPS refused {job.name} for {self.name}: {text}", printer=self.name)


def _options(text: str) -> dict[str, str]:
    """``lpoptions -p QUEUE``: ``key=value key='a value' flag`` on one line."""
    options: dict[str, str] = {}
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    for word in words:
        key, _, value = word.partition("=")
        options[key] = value
    return options


def _paper(text: str) -> tuple[tuple[str, ...] | None, str | None]:
    """``lpoptions -l``'s PageSize line -> (IPP media names of ticket sizes, default)."""
    for line in text.splitlines():
        key, _, choices = line.partition(":")
        if key.split("/")[0] not in ("PageSize", "media"):
            continue
        media: list[str] = []
        default = None
        for choice in choices.split():
            name = choice.lstrip("*")
            keyword = _PPD_SIZES.get(name.split(".")[0].lower())
            if keyword and keyword not in media:
                media.append(keyword)
            if choice.startswith("*"):
                default = keyword or name
        return tuple(media), default
    return None, None


def _reasons(text: str) -> tuple[str, ...]:
    return tuple(r for r in text.split(",") if r and r != "none")


def _message(text: str) -> str:
    """The indented lines after ``printer X is …`` in ``lpstat -p``: why it is so."""
    lines = [line.strip() for line in text.splitlines()[1:] if line.startswith(("\t", " "))]
    return " ".join(line for line in lines if line)


def _when(text: str) -> datetime | None:
    """``Fri Nov 27 05:32:22 2026`` (lpstat's %c in the C locale), local time."""
    try:
        return datetime.strptime(" ".join(text.split()), "%a %b %d %H:%M:%S %Y").astimezone()
    except ValueError:
        return None


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
