"""Real print servers for the tests, started in a private folder and stopped by pid.

- a private ``dbus-daemon``: ippeveprinter's Avahi client needs *a* bus to start, even
  with DNS-SD off (``-r off``); no avahi-daemon is needed then
- ``ippeveprinter`` (Debian ``cups-ipp-utils``), the IPP Everywhere printer emulator:
  one per test that needs a printer (``PrintServers.printer``), keeping every document
  it receives (``-k``) and finishing each job at once (``-c /bin/true``)
- one ``cupsd`` (``cups-daemon``) on a free port with queues made per test
  (``PrintServers.queue``): raw (bytes pass untouched) or ``-m everywhere`` (CUPS
  converts, needs ``cups-filters-core-drivers``)

The folder is ``mkdtemp`` with mode 0755, not pytest's ``tmp_path``: a cupsd running as
root runs its backends as user ``lp``, who cannot enter ``/tmp/pytest-of-root`` (0700).
A missing program is a test failure, never a skip: CI installs them (``.ci/run``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodsheets.ipp_printer import IppClient

NEEDED = ("dbus-daemon", "ippeveprinter", "cupsd", "lpadmin", "lp", "lpstat", "lpoptions",
          "cupsenable", "cupsdisable", "cupsaccept", "cupsreject")  # fmt: skip
FILTERS = Path("/usr/lib/cups/filter/pdftopdf")  # what an everywhere queue needs for PDF
SEARCH_PATH = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
JOB_ATTRIBUTES = ("job-id", "job-name", "job-state", "job-originating-user-name", "media",
                  "media-col", "document-format-supplied")  # fmt: skip


def missing_programs() -> list[str]:
    missing = [name for name in NEEDED if shutil.which(name, path=SEARCH_PATH) is None]
    if not FILTERS.exists():
        missing.append(f"{FILTERS} (cups-filters-core-drivers)")
    return missing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, what: str, timeout: float = 20.0, step: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something truthy (never a timed assertion:
    the timeout only bounds a hang)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(step)


@dataclass
class Received:
    """A job as the emulator keeps it: its attributes and the document it got."""

    attrs: dict[str, list[Any]]
    document: Path

    @property
    def name(self) -> str:
        return self.attrs["job-name"][0]

    @property
    def media(self) -> str | None:
        """The paper asked for: a ``media`` keyword (direct IPP, raw queue) or the size
        in a ``media-col`` (what CUPS sends through an everywhere queue)."""
        if self.attrs.get("media"):
            return self.attrs["media"][0]
        collection = (self.attrs.get("media-col") or [None])[0]
        if collection is None:
            return None
        size = collection["media-size"][0]
        return f"{size['x-dimension'][0]}x{size['y-dimension'][0]}"  # hundredths of mm


class Emulator:
    """One ippeveprinter: ``uri``, ``spool``; ``stop()`` and ``start()`` (same port)."""

    def __init__(self, servers: PrintServers, name: str, formats: str) -> None:
        self.servers = servers
        self.name = name
        self.formats = formats
        self.port = free_port()
        self.uri = f"ipp://localhost:{self.port}/ipp/print"
        self.spool = servers.root / f"spool-{name}"
        self.proc: subprocess.Popen | None = None
        self._starts = 0

    def start(self) -> Emulator:
        """(Re)start on the same port; each start gets a fresh spool folder, as job ids
        start at 1 again and would reuse file names."""
        self._starts += 1
        self.spool = self.servers.root / f"spool-{self.name}-{self._starts}"
        self.spool.mkdir()
        self.proc = self.servers.spawn(f"ipp-{self.name}", [
            "ippeveprinter", "-r", "off", "-n", "localhost", "-p", str(self.port),
            "-d", str(self.spool), "-k", "-c", "/bin/true", "-f", self.formats,
            "-s", "10,10",  # the colour profile: A4, Letter, A5 and 4x6 among its paper
            "-K", str(self.servers.root / "keys"), f"prodsheets-{self.name}",
        ])  # fmt: skip
        self.servers.wait_for_port(self.port, self.proc, f"ippeveprinter {self.name}")
        return self

    def stop(self) -> None:
        self.servers.stop(self.proc)

    def client(self) -> IppClient:
        return IppClient(self.uri, timeout=(5, 10))

    def jobs(self) -> list[dict[str, list[Any]]]:
        """Every job it remembers (it forgets finished jobs after 60 s)."""
        with_client = self.client()
        try:
            return with_client.get_jobs(JOB_ATTRIBUTES)
        finally:
            with_client.close()

    def received(self, name: str, timeout: float = 20.0) -> Received:
        """The finished job named ``name`` (waits for it: CUPS delivers later)."""

        def finished():
            for job in self.jobs():
                if job.get("job-name") == [name] and job.get("job-state") == [9]:
                    return job
            return None

        attrs = wait_until(finished, f"job {name!r} on {self.name}", timeout)
        (document,) = self.spool.glob(f"{attrs['job-id'][0]}-*.pdf")  # the name, mangled
        return Received(attrs, document)

    def documents(self) -> list[bytes]:
        """Every PDF it received, in job order."""
        files = sorted(self.spool.glob("*.pdf"), key=lambda p: int(p.name.split("-", 1)[0]))
        return [f.read_bytes() for f in files]

    def set_media_level(self, level: int) -> None:
        """Fill (e.g. 250) or empty (0) its main tray through its web form."""
        import requests

        requests.get(f"http://localhost:{self.port}/media", timeout=10, params={
            "size1": "iso_a4_210x297mm", "type1": "stationery", "level1": level,
            "size2": "na_index-4x6_4x6in", "type2": "stationery", "level2": 25,
        }).raise_for_status()  # fmt: skip


class PrintServers:
    """The session's print servers; ``cups_server`` is what ``CUPS_SERVER`` must say."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="prodsheets-print-"))
        self.root.chmod(0o755)
        (self.root / "keys").mkdir()
        self.env = dict(os.environ, PATH=SEARCH_PATH, LC_ALL="C.UTF-8")
        self._procs: list[subprocess.Popen] = []
        self._logs: list[Any] = []
        self._names = itertools.count(1)
        self.cups_port = 0
        self.cups_server = ""

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> PrintServers:
        bus = self.spawn("dbus", ["dbus-daemon", "--session", "--nofork", "--nopidfile",
                                  f"--address=unix:path={self.root}/bus", "--print-address=1"],
                         stdout=subprocess.PIPE)  # fmt: skip
        address = bus.stdout.readline().decode().strip() if bus.stdout else ""
        if not address:
            raise RuntimeError("dbus-daemon printed no address")
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = address
        self._start_cupsd()
        return self

    def close(self) -> None:
        for proc in reversed(self._procs):
            self.stop(proc)
        for proc in self._procs:
            if proc.stdout:
                proc.stdout.close()
        for log in self._logs:
            log.close()
        if not os.environ.get("PRODSHEETS_KEEP_PRINT_DIR"):
            shutil.rmtree(self.root, ignore_errors=True)

    def spawn(self, name: str, command: list[str], **kw: Any) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - closed in close()
        self._logs.append(log)
        proc = subprocess.Popen(command, env=self.env, stdin=subprocess.DEVNULL,
                                stdout=kw.pop("stdout", log), stderr=log,
                                start_new_session=True, **kw)  # fmt: skip
        self._procs.append(proc)
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen | None) -> None:
        """SIGTERM the pid we started; SIGKILL if it does not go."""
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    @staticmethod
    def wait_for_port(port: int, proc: subprocess.Popen, what: str) -> None:
        def accepts() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited at once with status {proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return True
            except OSError:
                return False

        wait_until(accepts, f"{what} to listen on port {port}")

    # -- printers and queues -------------------------------------------------------------

    def printer(self, *, pdf: bool = True) -> Emulator:
        """A fresh emulated printer: with PDF, or raster only (no PDF)."""
        formats = "application/pdf" if pdf else "image/pwg-raster,image/urf"
        name = f"{'pdf' if pdf else 'nopdf'}{next(self._names)}"
        return Emulator(self, name, formats).start()

    def queue(self, device: Emulator, *, everywhere: bool = False) -> str:
        """A new CUPS queue printing to ``device``: raw, or IPP Everywhere."""
        name = f"workshop-{next(self._names)}"
        model = "everywhere" if everywhere else "raw"
        # waitjob=false (raw queues): CUPS's ipp backend does not poll the printer until
        # each job is completed (about a second a job); the emulator completes them at once
        uri = device.uri if everywhere else f"{device.uri}?waitjob=false"
        self.cups("lpadmin", "-p", name, "-E", "-v", uri, "-m", model)
        if everywhere:  # cupsd builds the PPD in the background after lpadmin returned
            ppd = self.root / "cups" / "ppd" / f"{name}.ppd"
            wait_until(ppd.exists, f"the PPD of {name}")
        return name

    def cups(self, *command: str) -> subprocess.CompletedProcess:
        """A CUPS admin or client tool against this cupsd."""
        return subprocess.run(command, env=dict(self.env, CUPS_SERVER=self.cups_server),
                              capture_output=True, text=True, check=True, timeout=60)  # fmt: skip

    def queue_idle(self, queue: str) -> None:
        """Wait until CUPS has delivered everything queued on ``queue``."""
        wait_until(lambda: not self.cups("lpstat", "-o", queue).stdout.strip(),
                   f"queue {queue} to empty")  # fmt: skip

    def _start_cupsd(self) -> None:
        folder = self.root / "cups"
        for sub in ("spool/temp", "log", "cache", "state", "ppd"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        self.cups_port = free_port()
        self.cups_server = f"127.0.0.1:{self.cups_port}"
        (folder / "cupsd.conf").write_text(
            f"Listen 127.0.0.1:{self.cups_port}\nListen {folder}/cups.sock\n"
            "Browsing Off\nWebInterface No\nLogLevel debug\nMaxLogSize 0\n"
            "DefaultAuthType None\n<Policy default>\n  <Limit All>\n    Order allow,deny\n"
            "    Allow all\n  </Limit>\n</Policy>\n"
        )
        (folder / "cups-files.conf").write_text(
            f"ServerRoot {folder}\nStateDir {folder}/state\nCacheDir {folder}/cache\n"
            f"RequestRoot {folder}/spool\nTempDir {folder}/spool/temp\n"
            f"AccessLog {folder}/log/access_log\nErrorLog {folder}/log/error_log\n"
            f"PageLog {folder}/log/page_log\nPrintcap\nSandboxing Relaxed\n"
        )
        proc = self.spawn("cupsd", ["cupsd", "-f", "-c", str(folder / "cupsd.conf"),
                                    "-s", str(folder / "cups-files.conf")])  # fmt: skip
        self.wait_for_port(self.cups_port, proc, "cupsd")
