"""Files in and out: the TOML files users write, and atomic writes (a file or a folder appears
whole or not at all). Every layer reads and writes through these."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import InputError

RESULTS_MARKER = ".corridor-routing-results"  # marks a folder written by this toolkit


def read_toml(path: Path, error: type[InputError], what: str) -> dict[str, Any]:
    """Parse ``path``; a missing, unreadable or invalid file raises ``error`` naming it (``what``
    says which kind of file, e.g. "scenario file")."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{what} not found", file=path) from exc
    except (IsADirectoryError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what}: {exc}", file=path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"not valid TOML: {exc}", file=path) from exc


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_results_folder(out: str | Path) -> Path:
    """``out`` as a Path, if it may receive results: missing, empty, or written by this toolkit
    (it holds ``.corridor-routing-results``); anything else raises :class:`InputError`."""
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise InputError("exists and is not a folder", file=out)
        if any(out.iterdir()) and not (out / RESULTS_MARKER).exists():
            raise InputError("folder exists and was not written by corridor-routing; "
                             "refusing to overwrite it (choose another --out)", file=out)
    return out


@contextlib.contextmanager
def atomic_folder(out: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``out``; on success it replaces ``out`` whole.

    ``out`` must pass :func:`check_results_folder`; nothing is touched otherwise. On failure the
    temporary folder is deleted and ``out`` is left as it was.
    """
    out = check_results_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        yield tmp
        (tmp / RESULTS_MARKER).write_text("written by corridor-routing\n", encoding="utf-8")
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
