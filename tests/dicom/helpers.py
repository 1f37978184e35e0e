"""Helpers of the imaging tests (not fixtures)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import delete, text
from sqlalchemy.engine import Engine

DCMTK_STORESCU = "/usr/bin/storescu"
DCMTK_ECHOSCU = "/usr/bin/echoscu"


def dcmtk(tool: str) -> str:
    """Path of a dcmtk tool (the venv also has pynetdicom apps with the same names)."""
    path = f"/usr/bin/{tool}"
    if not Path(path).exists():
        found = shutil.which(tool, path="/usr/bin:/bin:/usr/local/bin")
        if not found:
            raise RuntimeError(f"dcmtk {tool} missing (apt-get install dcmtk)")
        path = found
    return path


def storescu(
    files: list[Path], *, port: int, calling: str, called: str = "TELEMED", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Send files with dcmtk storescu (TCP_NODELAY=1, as DCMTK peers need on loopback)."""
    env = {**os.environ, "TCP_NODELAY": "1"}
    return subprocess.run(
        [
            dcmtk("storescu"),
            "-aet",
            calling,
            "-aec",
            called,
            "127.0.0.1",
            str(port),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def purge_studies(engine: Engine, *study_uids: str) -> None:
    """Remove committed index rows of studies (tests using real commits clean up)."""
    from dicom.models import Instance, SpoolEntry, Study, StudyLink

    with engine.begin() as conn:
        for uid in study_uids:
            conn.execute(delete(StudyLink).where(StudyLink.study_uid == uid))  # type: ignore[arg-type]
            conn.execute(delete(Instance).where(Instance.study_uid == uid))  # type: ignore[arg-type]
            conn.execute(delete(Study).where(Study.study_uid == uid))  # type: ignore[arg-type]
        conn.execute(delete(SpoolEntry))
        conn.execute(text("SELECT 1"))
