"""The geo database file a server reads, watched for replacement: reopen it when it changes,
keep the old reader when the new file is bad."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from gtm.geo.geodb import DEFAULT_CACHE_SIZE, GeoDBError, GeoDBInfo, MaxMindGeoDB, sha256_of

log = logging.getLogger("gtm.geo.geodb")  # the same logger as the reader: one place to filter


Fingerprint = tuple[int, int, int]  # (mtime_ns, size, inode)


class GeoDBFile:
    """The database file the server reads, watched for replacement.

    Replace the file by renaming a complete new one over it (`os.replace`, `mv`): the old reader
    keeps its own inode mapped, so queries in flight are undisturbed. A file rewritten in place
    is noticed too (mtime and size change) and opened afresh, but until then the old reader's
    mapping shows the half-written bytes: always rename.
    """

    def __init__(self, path: Path, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self.path = path
        self.cache_size = cache_size
        self.current: MaxMindGeoDB | None = None
        self.error: str | None = None  # why the last changed file was rejected
        self._tried: Fingerprint | None = None
        self._tried_any = False
        self._rejected: str | None = None  # content of the last rejected file, logged once

    @classmethod
    def open(cls, path: Path, cache_size: int = DEFAULT_CACHE_SIZE) -> GeoDBFile:
        """Open the first database strictly: `GeoDBError` when it cannot be used (at start)."""
        watched = cls(path, cache_size)
        fingerprint = watched.fingerprint()
        watched.current = MaxMindGeoDB.open(path, cache_size)
        watched._tried, watched._tried_any = fingerprint, True
        _log_loaded(watched.current.info)
        return watched

    def fingerprint(self) -> Fingerprint | None:
        """(mtime_ns, size, inode) of the file now, None if it is missing."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def reload(self) -> MaxMindGeoDB | None:
        """The new reader if the file changed and opens well, else None (the old one stays).

        The previous reader is not closed: the caller swaps the new one in and closes the old
        one when no query uses it. A rejected file is logged once per distinct content.
        """
        fingerprint = self.fingerprint()  # taken first: a change while opening is seen next time
        if self._tried_any and fingerprint == self._tried:
            return None
        self._tried, self._tried_any = fingerprint, True
        try:
            new = MaxMindGeoDB.open(self.path, self.cache_size)
        except GeoDBError as exc:
            self.error = str(exc)
            content = _content_key(self.path)
            if content != self._rejected:
                self._rejected = content
                log.error("event=geodb-rejected path=%s error=%r", self.path, str(exc))
            return None
        self.current, self.error, self._rejected = new, None, None
        _log_loaded(new.info)
        return new


def _content_key(path: Path) -> str:
    try:
        return sha256_of(path)
    except GeoDBError as exc:
        return str(exc)


def _log_loaded(info: GeoDBInfo) -> None:
    log.info(
        "event=geodb-loaded path=%s type=%s build=%s digest=%s",
        info.path,
        info.database_type,
        info.built,
        info.digest[:12],
    )
