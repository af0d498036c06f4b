"""Files in and out: the TOML files users write, and atomic writes (a file or a folder appears
whole or not at all). Every layer reads and writes through these."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import glob
import os
import shutil
import stat
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import InputError

RESULTS_MARKER = ".corridor-routing-results"  # marks a folder written by this toolkit
MAX_TOML_BYTES = 4 * 1024 ** 2  # scenario, sweep and catalogue files larger than this are refused


def read_toml(path: Path, error: type[InputError], what: str) -> dict[str, Any]:
    """Parse ``path``; a missing, unreadable, special (``/dev/zero``, a pipe), oversized
    (> ``MAX_TOML_BYTES``) or invalid file raises ``error`` naming it (``what`` says which kind of
    file, e.g. "scenario file")."""
    try:
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise error(f"not a regular file; a {what} is a TOML text file", file=path)
            data = fh.read(MAX_TOML_BYTES + 1)
        if len(data) > MAX_TOML_BYTES:
            raise error(f"{what} larger than {MAX_TOML_BYTES // 1024 ** 2} MiB; refusing to read it", file=path)
        return tomllib.loads(data.decode("utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{what} not found", file=path) from exc
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what}: {exc}", file=path) from exc
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", file=path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"not valid TOML: {exc}", file=path) from exc
    except RecursionError as exc:
        raise error("not valid TOML here: tables or arrays nested too deeply", file=path) from exc


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


# ------------------------------------------------------------------ results folders

def check_results_folder(out: str | Path) -> Path:
    """``out`` as an absolute Path, if it may receive results: missing, empty, or written by this
    toolkit (it holds ``.corridor-routing-results``), not the working folder or one above it,
    and in a folder where files can be created. Anything else raises :class:`InputError`, before
    any computation."""
    given = out
    out = Path(os.path.abspath(out))
    if out.parent == out or Path.cwd().is_relative_to(out):
        raise InputError("is the working folder or one above it; results go into a folder of their own "
                         "(choose e.g. --out results/run1)", file=given)
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise InputError("exists and is not a folder", file=given)
        if any(out.iterdir()) and not (out / RESULTS_MARKER).exists():
            raise InputError("folder exists and was not written by corridor-routing; "
                             "refusing to overwrite it (choose another --out)", file=given)
    _check_writable(out.parent, given)
    return out


def _check_writable(folder: Path, given: str | Path) -> None:
    """Create ``folder`` if needed and prove files can be created there (a probe file)."""
    for ancestor in [folder, *folder.parents]:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise InputError(f"cannot create the folder: {ancestor} is a file", file=given)
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise InputError(f"cannot write in {folder}: {exc.strerror or exc}", file=given) from exc


def check_output_file(path: str | Path, marker: str) -> Path:
    """``path`` as a Path, if a file may be written there: missing, or a file this toolkit wrote
    (its first line is ``marker``), in a folder where files can be created; else
    :class:`InputError` (checked before any computation)."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise InputError("exists and is not a regular file", file=path)
        with open(path, "rb") as fh:
            first = fh.readline(len(marker) + 2).decode("utf-8", "replace").rstrip("\r\n")
        if first != marker:
            raise InputError("file exists and was not written by corridor-routing; refusing to overwrite it "
                             "(choose another --out)", file=path)
    _check_writable(Path(os.path.abspath(path)).parent, path)
    return path


_HELD: dict[Path, list[int]] = {}  # lock file -> [file descriptor, nesting depth] held by this process


@contextlib.contextmanager
def results_lock(out: str | Path) -> Iterator[Path]:
    """Hold the lock of results folder ``out`` (an exclusive ``flock`` on ``.<name>.lock`` beside
    it) for the block; another process holding it raises :class:`InputError` at once. The
    operating system releases it when a process dies, so a killed run never blocks the next.
    Nested use in one process is allowed. Inside the block, temporary folders of killed runs on
    the same ``out`` are deleted."""
    out = check_results_folder(out)
    lock = out.with_name(f".{out.name}.lock")
    if lock in _HELD:
        _HELD[lock][1] += 1
    else:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError("another corridor-routing run is writing this results folder; wait for it to "
                             "finish or choose another --out", file=out) from None
        _HELD[lock] = [fd, 1]
        _remove_temporaries(out)
    try:
        yield out
    finally:
        _HELD[lock][1] -= 1
        if _HELD[lock][1] == 0:
            fd = _HELD.pop(lock)[0]
            os.close(fd)  # releases the flock; the lock file stays (deleting it would race)


def _temporaries(out: Path) -> list[Path]:
    return [p for p in out.parent.glob(f".{glob.escape(out.name)}.*") if p.suffix in (".part", ".old")]


def _remove_temporaries(out: Path) -> None:
    """Delete temporary folders of earlier runs on ``out`` (safe: only a holder of its lock makes
    them). A complete old folder left by the fallback swap replaces a missing ``out``."""
    for tmp in _temporaries(out):
        if tmp.suffix == ".old" and not out.exists() and (tmp / RESULTS_MARKER).exists():
            os.replace(tmp, out)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_folder(out: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``out``; on success it replaces ``out`` whole.

    ``out`` must pass :func:`check_results_folder`; nothing is touched otherwise. The swap is
    one ``renameat2(RENAME_EXCHANGE)`` (see :func:`swap_folders`), so a crash at any instant
    leaves ``out`` either complete old or complete new; the lock of :func:`results_lock` is held
    throughout. On failure the temporary folder is deleted and ``out`` is left as it was.
    """
    with results_lock(out) as out:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
        try:
            yield tmp
            (tmp / RESULTS_MARKER).write_text("written by corridor-routing\n", encoding="utf-8")
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
            _sync_tree(tmp)
            swap_folders(tmp, out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


def _sync_tree(folder: Path) -> None:
    """fsync every file of ``folder`` and the folder itself, so the swap publishes data on disk."""
    for path in [*folder.rglob("*"), folder]:
        if path.is_symlink():
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux's ``renameat2(RENAME_EXCHANGE)``; False when the
    system or the filesystem does not offer it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_folders(new: Path, out: Path) -> None:
    """Put the complete folder ``new`` in place of ``out`` (same parent folder).

    ``out`` missing: one rename. Else ``renameat2(RENAME_EXCHANGE)`` swaps them in one step
    (``new`` then holds the old results and is deleted). Where the filesystem lacks it, ``out``
    is renamed to ``.<name>.<pid>.old`` and ``new`` renamed to ``out``; a crash between the two
    renames leaves the complete old folder there, and the next run on ``out`` moves it back.
    """
    if not (out.exists() or out.is_symlink()):
        os.rename(new, out)
    elif not _renameat2_exchange(new, out):
        old = out.with_name(f".{out.name}.{os.getpid()}.old")
        os.replace(out, old)
        os.rename(new, out)
        shutil.rmtree(old, ignore_errors=True)
    fsync_folder(out.parent)
    if new.exists():
        shutil.rmtree(new, ignore_errors=True)  # the old results, after an exchange


def fsync_folder(folder: Path) -> None:
    """fsync a folder, so renames into it are on disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
