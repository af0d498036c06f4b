"""Reading the TOML files users write (scenarios, sweeps, catalogues) with errors naming the file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import InputError


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
