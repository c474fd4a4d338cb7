"""Files a reader sees whole or not at all: write beside the final name, then commit.

The one convention for every file prodsheets writes (PDFs, manifests, cache entries):
the bytes go to a hidden temporary file beside the final name (``.order-1001.pdf.<random>
.part``), are flushed and fsynced, and ``commit`` renames them over the final name and
fsyncs the folder. A print folder therefore never shows a half-written PDF under its real
name, even after ``kill -9``, and leftovers are recognisable (``staged_leftovers``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_SUFFIX = ".part"


def stage_bytes(final: Path, data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` beside ``final`` under a temporary name; return that name."""
    with _staged(final, "wb", durable=durable) as (fh, temp):
        fh.write(data)
    return temp


def commit(temp: Path, final: Path, *, durable: bool = True) -> None:
    """Rename a staged file over its final name (atomic), then make the rename durable."""
    os.replace(temp, final)
    if durable:
        fsync_dir(Path(final).parent)


def discard(temp: Path | None) -> None:
    if temp is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "wb", *, durable: bool = True) -> Iterator[IO]:
    """``with atomic_open(p) as fh: fh.write(...)``: staged, then committed on success."""
    with _staged(path, mode, durable=durable) as (fh, temp):
        yield fh
    try:
        commit(temp, path, durable=durable)
    except BaseException:
        discard(temp)
        raise


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """``durable=False`` skips the fsyncs, for caches whose entries are verified on read."""
    commit(stage_bytes(path, data, durable=durable), path, durable=durable)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def staged_leftovers(final: Path) -> list[Path]:
    """Temporary files of ``final`` that a killed writer left behind."""
    final = Path(final)
    return list(final.parent.glob(f".{glob.escape(final.name)}.*{_SUFFIX}"))


def sweep_leftovers(folder: Path, *, older_than: float = 3600) -> int:
    """Remove staged files older than ``older_than`` seconds directly in ``folder``'s
    subfolders (run folders). Only old ones: another writer may be staging right now."""
    removed = 0
    cutoff = time.time() - older_than
    for leftover in Path(folder).glob(f"*/.*{_SUFFIX}"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
                removed += 1
    return removed


def fsync_dir(directory: Path) -> None:
    """Make a rename durable (a power cut must not undo it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _staged(final: Path, mode: str, *, durable: bool) -> Iterator[tuple[IO, Path]]:
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=_SUFFIX, dir=final.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh, temp
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.chmod(temp, 0o644)
    except BaseException:
        discard(temp)
        raise
