"""Zone files (YAML, see docs/zones.md) → validated `gtm.model.Zone` objects.

Every problem in a file is collected and raised at once as a `ConfigError` whose reasons name
the file, the line and the dotted path of the bad value. Only the functions that take a `Path`
touch the filesystem; the rest is pure.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from gtm.config.compile import compile_zone
from gtm.model.errors import ConfigError, Reason
from gtm.model.zone import Zone

__all__ = ["declared_twice", "load_zone_file", "load_zone_text", "validate_path", "zone_files"]

ZONE_SUFFIXES = (".yaml", ".yml")


def load_zone_text(text: str, file: str) -> Zone:
    """Compile one zone file's text; `file` names it in reasons and becomes `Zone.source`.

    Raises `ConfigError` listing every problem found.
    """
    compiled = compile_zone(text, file)
    if compiled.zone is None:
        raise ConfigError(compiled.reasons)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return dataclasses.replace(
        compiled.zone, source=file, digest=digest, origin_line=compiled.origin_line
    )


def load_zone_file(path: Path) -> Zone:
    """Read and compile one zone file. Raises `ConfigError` (also for an unreadable file)."""
    return load_zone_text(_read(path), str(path))


def zone_files(directory: Path) -> list[Path]:
    """The zone files directly in `directory`, sorted: ``*.yaml`` and ``*.yml``, skipping hidden
    files and editor leftovers (``name~``, ``#name#``)."""
    return sorted(
        path
        for path in directory.iterdir()
        if path.suffix in ZONE_SUFFIXES and not _ignored(path.name) and path.is_file()
    )


def validate_path(path: Path) -> list[Reason]:
    """Every problem in a zone file, or in every zone file of a directory (plus zones declared
    by two files). An empty list means valid."""
    if not path.is_dir():
        return list(_check_file(path)[0])
    try:
        files = zone_files(path)
    except OSError as exc:
        return [Reason(str(path), 0, "", f"cannot read the directory: {exc.strerror or exc}")]
    if not files:
        return [Reason(str(path), 0, "", "no zone files (*.yaml, *.yml) in this directory")]
    reasons: list[Reason] = []
    declared: dict[str, Path] = {}
    for file in files:
        file_reasons, origin, line = _check_file(file)
        reasons.extend(file_reasons)
        if origin is None:
            continue
        if origin in declared:
            reasons.append(declared_twice(str(file), line, origin, declared[origin]))
        else:
            declared[origin] = file
    return reasons


def declared_twice(file: str, line: int, origin: str, first: Path) -> Reason:
    """A zone that a second file declares too (the first in name order serves it)."""
    return Reason(file, line, "zone", f"zone '{origin}' is already declared by {first}")


def _check_file(path: Path) -> tuple[tuple[Reason, ...], str | None, int]:
    try:
        text = _read(path)
    except ConfigError as exc:
        return exc.reasons, None, 0
    compiled = compile_zone(text, str(path))
    return compiled.reasons, compiled.origin, compiled.origin_line


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError([Reason(str(path), 0, "", f"cannot read the file: {reason}")]) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex()
        message = f"not valid UTF-8 (byte 0x{byte})"
        raise ConfigError([Reason(str(path), line, "", message)]) from exc


def _ignored(name: str) -> bool:
    return name.startswith((".", "#")) or name.endswith(("~", "#"))
