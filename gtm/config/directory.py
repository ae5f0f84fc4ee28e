"""The zones directory as served: which file gives which zone, and what a reload changes.

A file that fails validation keeps its last good version serving; a file that goes away
takes its zone with it; two files declaring one zone serve the first (in name order).
The file reads and YAML parsing happen here; the decisions are plain code.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from gtm.config import declared_twice, load_zone_file, zone_files
from gtm.model.errors import ConfigError, Reason
from gtm.model.zone import Zone
from gtm.process import collector_paused

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """What one pass over the directory did."""

    zones: tuple[Zone, ...]
    loaded: tuple[str, ...] = ()  # files (re)loaded with new content
    removed: tuple[str, ...] = ()
    errors: tuple[Reason, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.loaded or self.removed)


@dataclass
class ZoneDirectory:
    """Loads a zones directory and keeps the last good version of each file."""

    path: Path
    good: dict[Path, Zone] = field(default_factory=dict)
    failed_digest: dict[Path, str] = field(default_factory=dict)

    def fingerprint(self) -> tuple[tuple[str, int, int, int], ...]:
        """What the directory looks like to stat(): changes whenever a zone file is written,
        replaced (editors, Kubernetes ConfigMap swaps), added or removed."""
        try:
            files = zone_files(self.path)
        except OSError:
            return ()
        out = []
        for path in files:
            try:
                st = path.stat()
            except OSError:
                continue
            out.append((path.name, st.st_mtime_ns, st.st_size, st.st_ino))
        return tuple(out)

    def reload(self) -> ReloadResult:
        """Read every file whose content changed; never lose a zone to a bad edit."""
        with collector_paused():
            return self._reload()

    def _reload(self) -> ReloadResult:
        if not self.path.is_dir():
            reason = Reason(str(self.path), 0, "", "zones directory does not exist")
            return ReloadResult(tuple(self.good.values()), errors=(reason,))
        files = zone_files(self.path)
        present = set(files)  # a list here made each reload quadratic in the number of zones
        removed = [p for p in self.good if p not in present]
        for path in removed:
            del self.good[path]
        for path in list(self.failed_digest):
            if path not in present:
                del self.failed_digest[path]
        loaded: list[str] = []
        errors: list[Reason] = []
        for path in files:
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as exc:  # vanished between listing and reading, or unreadable
                errors.append(Reason(str(path), 0, "", f"cannot read: {exc.strerror}"))
                continue
            old = self.good.get(path)
            if (old is not None and old.digest == digest) or self.failed_digest.get(path) == digest:
                continue  # unchanged since the last good load, or the same broken content
            try:
                zone = load_zone_file(path)
            except ConfigError as exc:
                self.failed_digest[path] = digest
                errors.extend(exc.reasons)
                continue
            self.failed_digest.pop(path, None)
            self.good[path] = zone
            loaded.append(str(path))
        zones, duplicates = _unique(self.good)
        return ReloadResult(
            tuple(zones), tuple(loaded), tuple(str(p) for p in removed), tuple(errors + duplicates)
        )


def _unique(good: dict[Path, Zone]) -> tuple[list[Zone], list[Reason]]:
    """One zone per origin: the first file in name order wins."""
    seen: dict[str, Path] = {}
    zones: list[Zone] = []
    reasons: list[Reason] = []
    for path in sorted(good):
        zone = good[path]
        if zone.origin in seen:
            reasons.append(
                declared_twice(str(path), zone.origin_line, zone.origin, seen[zone.origin])
            )
            continue
        seen[zone.origin] = path
        zones.append(zone)
    return zones, reasons
