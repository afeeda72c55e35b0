"""Safe saving: where output goes, backups before in-place writes, and atomic replacement of files."""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

from apxl.errors import ApxlError

WRITABLE = {".xlsx", ".xlsm"}


def default_output(source: Path, tag: str = "checked") -> Path:
    """``register.xlsx`` -> ``register-checked.xlsx`` beside it (an .xlsm stays .xlsm)."""
    return source.with_name(f"{source.stem}-{tag}{source.suffix}")


def resolve_output(source: str | Path, output: str | Path | None, in_place: bool, tag: str = "checked") -> Path:
    """Decide where to write, refusing anything that would overwrite the input by accident or lose its VBA."""
    source = Path(source)
    if not source.exists():
        raise ApxlError(f"The file {source} does not exist.")
    if source.suffix.lower() not in WRITABLE:
        raise ApxlError(f"apxl can write only into .xlsx or .xlsm workbooks: save {source.name} as .xlsx first.")
    if in_place:
        if output is not None and Path(output).resolve() != source.resolve():
            raise ApxlError("Give either an output file or --in-place, not both.")
        return source
    target = Path(output) if output is not None else default_output(source, tag)
    if target.resolve() == source.resolve():
        raise ApxlError(f"The output would overwrite {source.name}: use --in-place to write into the input (a backup is kept).")
    if target.suffix.lower() != source.suffix.lower():
        # Excel refuses a macro-enabled package named .xlsx (and the reverse), so the suffix must match.
        raise ApxlError(f"Write {source.name} to a {source.suffix.lower()} file: Excel will not open a {source.suffix.lower()} workbook saved as {target.suffix or 'no extension'}.")
    if target.parent and not target.parent.exists():
        raise ApxlError(f"The folder {target.parent} does not exist.")
    return target


def backup_path(source: Path, now: datetime | None = None) -> Path:
    """A timestamped name beside the source that does not exist yet: ``register.backup-20261122-140501.xlsx``."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    candidate = source.with_name(f"{source.stem}.backup-{stamp}{source.suffix}")
    n = 2
    while candidate.exists():
        candidate = source.with_name(f"{source.stem}.backup-{stamp}-{n}{source.suffix}")
        n += 1
    return candidate


def make_backup(source: Path) -> Path:
    """Copy the source (with its timestamps) to a fresh backup name beside it."""
    target = backup_path(source)
    shutil.copy2(source, target)
    return target


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_target(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces the target in one step.

    The temporary file sits in the same folder so ``os.replace`` is a rename on one file system:
    readers see either the old file or the new one, never a half-written workbook.
    """
    target = Path(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        try:
            if target.exists():
                shutil.copymode(target, tmp)
            else:  # mkstemp makes the file private (0600); a new workbook gets the usual permissions
                os.chmod(tmp, 0o666 & ~_umask())
        except OSError:
            pass
        try:
            os.replace(tmp, target)
        except PermissionError:
            raise ApxlError(f"{target.name} cannot be replaced: close it in Excel (or any other program) and try again.") from None
    finally:
        if tmp.exists():
            tmp.unlink()
