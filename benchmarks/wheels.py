"""Wheels a benchmark needs but the project does not install (OSRM's binaries, an older
matplotlib, the baseline's dependencies): downloaded with pip into a temporary folder, never into
the repository, and unpacked there."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path


def fetch_wheel(requirement: str, folder: Path, *pip_options: str) -> tuple[Path | None, str]:
    """The wheel of ``requirement`` (no dependencies; ``pip_options`` such as ``--platform`` pick
    another than this interpreter's) downloaded into ``folder`` and unpacked there: (the unpacked
    folder, the wheel's file name), or (None, why not)."""
    download = folder / "download"
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                           *pip_options, "-d", str(download), requirement], capture_output=True, text=True,
                          timeout=600)
    wheels = sorted(download.glob("*.whl"))
    if done.returncode or len(wheels) != 1:
        return None, f"pip download {requirement} failed: {done.stderr.strip()[-300:]}"
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extractall(folder / "unpacked")
    return folder / "unpacked", wheels[0].name
