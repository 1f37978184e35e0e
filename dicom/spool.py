"""The durable spool; the forwarder that empties it into the archive is `dicom.forwarder`.

Every instance received (`dicom.ingest.receive`: the gateway's C-STORE, STOW-RS) is
written here and fsync'ed *before* it is acknowledged: one line of JSON (who sent it) and
the Part-10 bytes, made visible by an atomic rename to `<name>.dcm`. The forwarder stores
each file in the archive, indexes it and deletes it; while the archive is unavailable it
retries with backoff, so a stopped Orthanc delays but never loses. Refused files move to
`rejected/` with the reason beside them.

STOW-RS answers with the stored result, so it *holds* its file (`<name>.held`, which the
forwarder leaves alone), stores it itself and then deletes it, or releases it to the
forwarder when the archive is unavailable. A held file whose request died (the process
stopped) is released after `HOLD_TIMEOUT` seconds.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("telemed.dicom.spool")

HOLD_TIMEOUT = 600.0  # seconds after which a held file is the forwarder's


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """A directory of received instances waiting for the archive."""

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root = Path(root)
        self.rejected_dir = self.root / "rejected"
        self.root.mkdir(parents=True, exist_ok=True)
        self.rejected_dir.mkdir(exist_ok=True)
        self.durable = durable
        self.arrived = threading.Event()
        self._listeners: list[Callable[[str], None]] = []

    def put(self, data: bytes, meta: dict[str, Any], *, hold: bool = False) -> str:
        """Write one instance durably; return its spool name. Safe from many threads.

        With `hold` the file waits for `release` or `done` (the writer stores it itself)."""
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
        tmp = self.root / f".{name}.tmp"
        with open(tmp, "wb") as f:
            f.write(json.dumps(meta).encode() + b"\n")
            f.write(data)
            f.flush()
            if self.durable:
                os.fsync(f.fileno())
        os.replace(tmp, self.root / f"{name}.{'held' if hold else 'dcm'}")
        if self.durable:
            _fsync_dir(self.root)
        if not hold:
            self._arrived(name)
        return name

    def release(self, name: str) -> None:
        """Hand a held file to the forwarder."""
        os.replace(self.root / f"{name}.held", self.root / f"{name}.dcm")
        if self.durable:
            _fsync_dir(self.root)
        self._arrived(name)

    def release_stale(self, older_than: float = HOLD_TIMEOUT) -> None:
        """Release the held files of requests that died before finishing them."""
        cutoff = time.time() - older_than
        for path in self.root.glob("*.held"):
            try:
                if path.stat().st_mtime < cutoff:
                    self.release(path.stem)
            except FileNotFoundError:  # finished meanwhile
                continue

    def _arrived(self, name: str) -> None:
        self.arrived.set()
        for fn in self._listeners:
            fn(name)

    def on_put(self, fn: Callable[[str], None]) -> None:
        self._listeners.append(fn)

    def pending(self) -> list[str]:
        """Names waiting for the archive, oldest first."""
        return sorted(p.stem for p in self.root.glob("*.dcm"))

    def read(self, name: str) -> tuple[dict[str, Any], bytes]:
        raw = (self.root / f"{name}.dcm").read_bytes()
        head, _, data = raw.partition(b"\n")
        return json.loads(head), data

    def done(self, name: str) -> None:
        (self.root / f"{name}.dcm").unlink(missing_ok=True)
        (self.root / f"{name}.held").unlink(missing_ok=True)

    def reject(self, name: str, reason: str) -> None:
        src = self.root / f"{name}.dcm"
        if src.exists():
            os.replace(src, self.rejected_dir / f"{name}.dcm")
        (self.rejected_dir / f"{name}.reason.txt").write_text(reason + "\n")
