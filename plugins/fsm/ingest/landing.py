"""The landing zone (CONTRACT §1, layout in fsm.contract) behind one interface: a local folder or any fsspec URL.

The synthetic generator writes the same layout, so tests and `make run` read it the
same way production reads s3://… .
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import fsspec

from fsm.config import env_name, landing_root, max_file_bytes
from fsm.contract import FEEDS
from fsm.errors import PermanentError


class LandingError(PermanentError, RuntimeError):
    """A landing file that cannot be used as a whole; the message names the file."""


@dataclass(frozen=True)
class LandingFile:
    feed: str
    name: str
    path: str  # path inside the filesystem
    uri: str  # what operators see in messages
    period: date  # extract date (markings) or described month (registers)
    fmt: str  # csv | parquet


class LandingZone:
    def __init__(self, root: str | None = None):
        self.root = (root or landing_root()).rstrip("/")
        self.fs, self.base = fsspec.core.url_to_fs(self.root)

    def files(self, feed: str) -> list[LandingFile]:
        """Every file of a feed, oldest period first. A misnamed data file is an error, not skipped."""
        folder, pattern = FEEDS[feed].folder, FEEDS[feed].pattern
        directory = f"{self.base}/{folder}"
        if not self.fs.exists(directory):
            return []
        found = []
        for path in self.fs.ls(directory, detail=False):
            name = path.rstrip("/").rsplit("/", 1)[-1]
            if not name.endswith((".csv", ".parquet")):
                continue  # README, .done markers, … are not deliveries
            m = pattern.match(name)
            if not m:
                raise LandingError(f"{self._uri(folder, name)}: file name does not match the {feed} layout of CONTRACT §1")
            try:
                period = _period(m.group("p"))
            except ValueError as exc:
                raise LandingError(f"{self._uri(folder, name)}: bad date in file name ({exc})") from exc
            found.append(LandingFile(feed, name, path, self._uri(folder, name), period, m.group("fmt")))
        return sorted(found, key=lambda f: (f.period, f.name))

    def size(self, f: LandingFile) -> int | None:
        """The file's size after the input-limit check (config: max_file_bytes); None when the store cannot say."""
        try:
            size = self.fs.size(f.path)
        except OSError as exc:
            raise LandingError(f"{f.uri}: cannot read the file ({type(exc).__name__}: {exc})") from exc
        limit = max_file_bytes()
        if size is not None and size > limit:
            raise LandingError(f"{f.uri}: {size:,} bytes exceeds the input limit {env_name('max_file_bytes')}={limit:,}")
        return size

    def open(self, f: LandingFile):
        """A binary, seekable stream of the file (size checked first). Readers stream it: memory stays bounded."""
        self.size(f)
        try:
            return self.fs.open(f.path, "rb")
        except OSError as exc:
            raise LandingError(f"{f.uri}: cannot read the file ({type(exc).__name__}: {exc})") from exc

    def sha256(self, f: LandingFile, block: int = 1 << 20) -> str:
        """Hex SHA-256 of the file's bytes, read in blocks (never the whole file in memory)."""
        digest = hashlib.sha256()
        limit = max_file_bytes()
        read = 0
        with self.open(f) as fh:
            while chunk := fh.read(block):
                read += len(chunk)
                if read > limit:  # the store did not know the size, or the file grew
                    raise LandingError(f"{f.uri}: more than {env_name('max_file_bytes')}={limit:,} bytes")
                digest.update(chunk)
        return digest.hexdigest()

    def read_bytes(self, f: LandingFile) -> bytes:
        """The whole file (small files only: the loaders stream with `open`)."""
        with self.open(f) as fh:
            data = fh.read(max_file_bytes() + 1)
        if len(data) > max_file_bytes():
            raise LandingError(f"{f.uri}: more than {env_name('max_file_bytes')}={max_file_bytes():,} bytes")
        return data

    def _uri(self, folder: str, name: str) -> str:
        return f"{self.root}/{folder}/{name}"


def _period(text: str) -> date:
    if not text:  # allocations: no period
        return date(1900, 1, 1)
    if len(text) == 7:
        return date.fromisoformat(text + "-01")
    return date.fromisoformat(text)
