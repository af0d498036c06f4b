"""Download a named Geofabrik extract (e.g. ``"asia/syria"``) into the cache folder.

``asia/syria`` is fetched from ``https://download.geofabrik.de/asia/syria-latest.osm.pbf``
into ``settings.cache_dir() / "geofabrik" / "asia" / "syria-latest.osm.pbf"``:

* checked: the MD5 Geofabrik publishes beside the file (``...osm.pbf.md5``) must match, else
  the download is deleted and an error raised;
* resumable: bytes arrive in ``<file>.part``; a broken connection leaves it in place and the
  next call asks the server only for the rest (HTTP ``Range``). The part remembers the
  checksum it belongs to (``<file>.part.md5``), so a part of an older extract is not resumed;
* atomic: the finished, verified file is renamed into place, so the target is always either
  the previous complete file or the new complete file;
* idempotent: an existing file with the published checksum is not downloaded again;
* offline: a download checked once is recorded (``<file>.md5``, the checksum it was verified
  against) and used from then on without the network while its bytes still match; delete the
  file to fetch a newer extract. An unreachable server is one error within the time budget of
  :mod:`routing.network.http`, saying what to do.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

import requests

from ..errors import NetworkLoadError
from ..settings import cache_dir
from . import http

log = logging.getLogger(__name__)

GEOFABRIK_URL = "https://download.geofabrik.de"
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*(?:/[a-z0-9][a-z0-9-]*)*")
_MD5 = re.compile(r"[0-9a-fA-F]{32}")
_CHUNK = 1024 * 1024  # bytes written at a time
_HTTP_PARTIAL, _HTTP_RANGE_NOT_SATISFIABLE = 206, 416


def extract_url(name: str, base_url: str = GEOFABRIK_URL) -> str:
    """The URL of a named extract: ``"asia/syria"`` -> ``<base_url>/asia/syria-latest.osm.pbf``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise NetworkLoadError('not a Geofabrik extract name; expected a path such as "asia/syria" '
                               '(lower-case letters, digits, "-" and "/")', field="geofabrik", value=name)
    return f"{base_url.rstrip('/')}/{name}-latest.osm.pbf"


def download_extract(name: str, *, folder: str | Path | None = None, base_url: str = GEOFABRIK_URL,
                     session: requests.Session | None = None,
                     progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Download (or resume, or reuse) the extract ``name``; returns the path of the checked file.

    ``folder`` defaults to ``settings.cache_dir() / "geofabrik"``; ``progress(bytes_so_far,
    total_bytes_or_None)`` is called after each chunk. A file checked before is returned without
    the network. Raises :class:`NetworkLoadError` naming the URL or file on any failure.
    """
    url = extract_url(name, base_url)
    target = (Path(folder) if folder is not None else cache_dir() / "geofabrik") / f"{name}-latest.osm.pbf"
    record = target.with_name(target.name + ".md5")
    if target.exists() and record.exists() and file_md5(target) == record.read_text().split(" ")[0].strip():
        log.info("using %s, checked when downloaded; delete it to download a newer extract", target)
        return target
    http = session or requests.Session()
    hint = (f"without internet use a local file (--network FILE.osm.pbf), or put the extract at {target} "
            f"with its checksum in {record.name}")
    expected = _published_md5(http, url + ".md5", hint)
    if target.exists() and file_md5(target) == expected:
        record.write_text(f"{expected}  {target.name}\n")
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NetworkLoadError(f"cannot create the download folder ({exc.strerror or exc}); set $ROUTING_CACHE_DIR "
                               "to a writable folder", file=target.parent) from exc
    part = target.with_name(target.name + ".part")
    part_md5 = target.with_name(target.name + ".part.md5")
    if not (part.exists() and part_md5.exists() and part_md5.read_text().strip() == expected):
        part.unlink(missing_ok=True)
        part_md5.write_text(expected + "\n")
    _fetch(http, url, part, hint, progress)
    got = file_md5(part)
    if got != expected:
        part.unlink(missing_ok=True)
        part_md5.unlink(missing_ok=True)
        raise NetworkLoadError(f"checksum mismatch: downloaded MD5 {got}, published {expected}; the download "
                               "was deleted, run again to download it afresh", file=url)
    os.replace(part, target)
    os.replace(part_md5, record)  # the checksum this file was verified against
    return target


def file_md5(path: str | Path) -> str:
    """Hex MD5 of a file's contents (the checksum Geofabrik publishes; not used for security)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _published_md5(session: requests.Session, md5_url: str, hint: str) -> str:
    """The checksum in a Geofabrik ``.md5`` file (``<md5>  <file name>``)."""
    response = http.request("GET", md5_url, what="fetching the extract's checksum", hint=hint, session=session)
    try:
        response.raise_for_status()
    except requests.RequestException as exc:
        raise NetworkLoadError(f"cannot fetch the extract's checksum: {exc}", file=md5_url) from exc
    found = _MD5.match(response.text.strip())
    if not found:
        raise NetworkLoadError("the checksum file does not start with an MD5", file=md5_url,
                               field="body", value=response.text[:80])
    return found.group().lower()


def _fetch(session: requests.Session, url: str, part: Path, hint: str,
           progress: Callable[[int, int | None], None] | None) -> None:
    """Append the rest of ``url`` to ``part``: from its current size with a Range request."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with http.request("GET", url, what="downloading the extract", hint=hint, session=session, headers=headers,
                          stream=True) as response:
            if offset and response.status_code == _HTTP_RANGE_NOT_SATISFIABLE:
                return  # the part already holds the whole file; the checksum decides
            response.raise_for_status()
            resumed = offset > 0 and response.status_code == _HTTP_PARTIAL
            if resumed and not response.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
                raise NetworkLoadError("the server answered the resume request with another byte range",
                                       file=url, field="Content-Range", value=response.headers.get("Content-Range"))
            written = offset if resumed else 0
            length = response.headers.get("Content-Length")
            total = written + int(length) if length and length.isdigit() else None
            with open(part, "ab" if resumed else "wb") as fh:
                for chunk in response.iter_content(_CHUNK):
                    fh.write(chunk)
                    written += len(chunk)
                    if progress is not None:
                        progress(written, total)
                fh.flush()
                os.fsync(fh.fileno())
    except (requests.RequestException, OSError) as exc:
        size = part.stat().st_size if part.exists() else 0
        raise NetworkLoadError(f"download interrupted after {size:,} bytes ({exc}); run again to resume",
                               file=url) from exc
