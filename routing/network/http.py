"""HTTP for Overpass and Geofabrik: a few attempts within one time budget, then one clear error.

An unreachable server (no route, no name resolution, refused, no answer, 429/502/503/504) is
tried ``ATTEMPTS`` times with short pauses, all within ``settings.network_timeout_s()`` seconds
(``$ROUTING_NETWORK_TIMEOUT``, default 30) counted from the first attempt; then
:class:`~routing.errors.NetworkLoadError` says what failed and what to do instead. Once a server
answers, a slow body is read with ``settings.READ_TIMEOUT_S`` per read (a large download is not
cut short by the budget).
"""

from __future__ import annotations

import time
from typing import Any

import requests

from ..errors import NetworkLoadError
from ..settings import READ_TIMEOUT_S, network_timeout_s

ATTEMPTS = 3
RETRY_STATUS = frozenset({429, 502, 503, 504})
PAUSE_S = 1.0  # before the second attempt; doubled after each


def request(method: str, url: str, *, what: str, hint: str, session: requests.Session | None = None,
            **kwargs: Any) -> requests.Response:
    """``session.request(method, url, **kwargs)`` with retries inside the time budget; raises
    :class:`NetworkLoadError` ("<url>: <what> failed ...; <hint>") when the server cannot be
    reached or keeps answering with a temporary error. Other HTTP errors are returned as they are
    (the caller decides)."""
    http = session or requests.Session()
    budget = network_timeout_s()
    start = time.monotonic()
    problem, attempts = "", 0
    for attempt in range(ATTEMPTS):
        remaining = budget - (time.monotonic() - start)
        if remaining <= 0:
            break
        attempts += 1
        try:
            response = http.request(method, url, timeout=(remaining, READ_TIMEOUT_S), **kwargs)
        except requests.ConnectionError as exc:
            problem = _reason(exc)
        except requests.Timeout:
            problem = f"no answer within {remaining:.0f} s"
        except requests.RequestException as exc:  # a malformed URL, too many redirects...: no retry helps
            raise NetworkLoadError(f"{what} failed: {type(exc).__name__}: {str(exc)[:200]}", file=url) from exc
        else:
            if response.status_code not in RETRY_STATUS:
                return response
            problem = f"HTTP {response.status_code} {response.reason or ''}".strip()
            response.close()
        pause = PAUSE_S * 2 ** attempt
        if attempt + 1 < ATTEMPTS and time.monotonic() - start + pause < budget:
            time.sleep(pause)
    elapsed = time.monotonic() - start
    tries = f"{attempts} attempt{'s' * (attempts > 1)}"
    raise NetworkLoadError(f"{what} failed: {problem} ({tries} in {elapsed:.0f} s, limit {budget:g} s, "
                           f"$ROUTING_NETWORK_TIMEOUT); {hint}", file=url)


def _reason(exc: requests.ConnectionError) -> str:
    """A short reason for a connection failure (requests' own text runs to several lines)."""
    text = str(exc)
    for marker, reason in (("NameResolution", "cannot resolve the host name (no internet or no DNS?)"),
                           ("Failed to resolve", "cannot resolve the host name (no internet or no DNS?)"),
                           ("Connection refused", "connection refused"),
                           ("Network is unreachable", "network unreachable"),
                           ("timed out", "connection timed out")):
        if marker in text:
            return reason
    return f"cannot connect ({type(exc).__name__})"
