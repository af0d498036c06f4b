"""OSRM for the benchmarks: binaries and profiles from the ``osrm-bindings`` wheel (downloaded with
pip into a temporary folder, never into the repository), preprocessing (MLD: extract, partition,
customize) with the wheel's bundled ``car.lua`` unchanged, and an ``osrm-routed`` server on a free
port of 127.0.0.1 with small query helpers (table, route, nearest).
"""

from __future__ import annotations

import json
import platform
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from wheels import fetch_wheel


def fetch_osrm(folder: Path) -> tuple[Path | None, str]:
    """OSRM binaries and car profile from the osrm-bindings wheel (pip download into ``folder``):
    (root with ``bin/`` and ``share/profiles/``, a note naming wheel and version), or (None, why not)."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None, f"no osrm-bindings wheel used for {platform.system()} {platform.machine()}"
    unpacked, wheel = fetch_wheel("osrm-bindings", folder, "--python-version", "3.12",
                                  "--platform", "manylinux_2_28_x86_64")
    if unpacked is None:
        return None, wheel
    root = unpacked / "osrm"
    for exe in (root / "bin").iterdir():
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    check = subprocess.run([str(root / "bin" / "osrm-extract"), "--version"], capture_output=True, text=True)
    if check.returncode:
        return None, f"osrm-extract does not run here: {check.stderr.strip()[-300:]}"
    return root, f"osrm-bindings wheel {wheel}, OSRM {check.stdout.strip()}"


def run(cmd: list[str], cwd: Path) -> float:
    """Run an OSRM tool in ``cwd``; wall seconds. Raises RuntimeError with its output on failure."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=3600)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd[:2])} failed: {done.stderr.strip()[-500:] or done.stdout.strip()[-500:]}")
    return time.perf_counter() - t0


def car_profile(root: Path) -> Path:
    """The wheel's bundled car profile (``share/profiles/car.lua``), used unchanged."""
    return root / "share" / "profiles" / "car.lua"


def preprocess_mld(root: Path, pbf: Path, profile: Path | None = None) -> tuple[Path, float]:
    """``osrm-extract`` (car profile by default), ``osrm-partition``, ``osrm-customize`` of ``pbf``
    in its folder: (the ``.osrm`` base path, wall seconds)."""
    folder = pbf.parent
    seconds = run([str(root / "bin" / "osrm-extract"), "-p", str(profile or car_profile(root)), str(pbf)], folder)
    found = sorted(folder.glob("*.osrm.ebg"))  # the base name OSRM chose (it keeps ".osm.gz", for one)
    if len(found) != 1:
        raise RuntimeError(f"osrm-extract left {len(found)} .osrm.ebg files in {folder}")
    data = found[0].with_suffix("")
    seconds += run([str(root / "bin" / "osrm-partition"), str(data)], folder)
    seconds += run([str(root / "bin" / "osrm-customize"), str(data)], folder)
    return data, seconds


def _coords(coords: list[tuple[float, float]]) -> str:
    return ";".join(f"{x:.7f},{y:.7f}" for x, y in coords)


class Routed:
    """An osrm-routed server (MLD) on a free port of 127.0.0.1; stopped by its own process id."""

    def __init__(self, root: Path, data: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([str(root / "bin" / "osrm-routed"), "--algorithm", "mld", "--ip", "127.0.0.1",
                                      "--port", str(self.port), "--max-table-size", "10000", str(data)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/nearest/v1/driving/0,0", timeout=1)
                break
            except urllib.error.HTTPError:  # answering (an error for this dummy query is fine)
                break
            except OSError as exc:
                if self.proc.poll() is not None or time.perf_counter() - t0 > 300:
                    raise RuntimeError("osrm-routed did not start") from exc
                time.sleep(0.02)
        self.start_s = time.perf_counter() - t0

    def get(self, path: str, timeout: float = 600) -> dict:
        """The JSON answer to ``/path`` (OSRM's error answers too, which carry a ``code``)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/{path}", timeout=timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:  # 400 NoRoute, NoSegment...: a JSON body with the code
            return json.loads(exc.read() or b"{}")

    def table(self, coords: list[tuple[float, float]]) -> tuple[float, np.ndarray]:
        """(seconds for the request, durations matrix in seconds, nan where no route)."""
        t0 = time.perf_counter()
        body = self.get(f"table/v1/driving/{_coords(coords)}?annotations=duration,distance")
        elapsed = time.perf_counter() - t0
        durations = np.array([[np.nan if d is None else d for d in row] for row in body["durations"]], dtype=float)
        return elapsed, durations

    def route(self, coords: list[tuple[float, float]]) -> dict:
        """The fastest route through ``coords`` (lon, lat) with per-segment annotations (OSM node
        ids, distances m, durations s) and its full geometry; OSRM's answer as is."""
        return self.get(f"route/v1/driving/{_coords(coords)}?overview=full&geometries=geojson"
                        "&annotations=nodes,distance,duration&continue_straight=false")

    def nearest(self, x: float, y: float) -> dict:
        """The nearest road segment to (lon, lat) ``x, y``; OSRM's answer as is."""
        return self.get(f"nearest/v1/driving/{x:.7f},{y:.7f}?number=1")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
