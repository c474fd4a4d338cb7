"""Run a command and measure it: wall time, the peak of the summed RSS of its whole
process tree (the batch's main process, the forkserver and every render worker), and the
CPU time of the main process and of all the others.

Linux only (reads /proc). RSS and CPU are sampled every 50 ms; the tree is re-discovered
every 0.5 s (a full /proc scan costs CPU the measured command would otherwise have), so a
spike shorter than that, or a worker younger than that, can be missed, and each process's
last 50 ms of CPU too (a few tenths of a second over a run of minutes).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measured:
    returncode: int
    wall: float
    peak_rss_mb: float
    stdout: str
    stderr: str
    cpu_main_s: float = 0.0
    cpu_others_s: float = 0.0

    @property
    def cpu_s(self) -> float:
        return self.cpu_main_s + self.cpu_others_s


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(root: int) -> list[int]:
    tree = _children()
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(tree.get(pid, []))
    return found


def tree_rss_kb(root: int) -> int:
    return sum(_rss_kb(pid) for pid in descendants(root))


def run_measured(command: list[str], env: dict[str, str], timeout: float = 3600) -> Measured:
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    cpu: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        pids, rescan = [proc.pid], 0.0
        while not stop.is_set():
            now = time.perf_counter()
            if now >= rescan:
                pids, rescan = descendants(proc.pid), now + 0.5
            peak = max(peak, sum(_rss_kb(pid) for pid in pids))
            for pid in pids:
                used = _cpu_s(pid)
                if used is not None:
                    cpu[pid] = max(cpu.get(pid, 0.0), used)
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        stop.set()
        sampler.join()
    main = cpu.pop(proc.pid, 0.0)
    return Measured(
        proc.returncode, time.perf_counter() - start, peak / 1024, stdout, stderr,
        cpu_main_s=main, cpu_others_s=sum(cpu.values()),
    )  # fmt: skip
