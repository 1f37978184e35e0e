"""A real Orthanc (with the DICOMweb plugin) for tests and benchmarks.

`start()` writes a configuration into a temp directory, runs the Debian `Orthanc`
binary on free HTTP and DICOM ports with authentication on and `TCP_NODELAY=1` in its
environment (DCMTK stalls ~40 ms per C-STORE on loopback otherwise), and waits until the
REST API answers. `OrthancServer.stop()` ends it; `restart()` brings it back on the same
ports and storage (used to prove that a stopped archive delays but never loses).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.ports import free_port

ORTHANC_BIN = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
USERNAME = "telemed"
PASSWORD = "orthanc-test-password"
PYTHON_PLUGIN = "/usr/share/orthanc/plugins/libOrthancPython.so"  # Debian orthanc-python
FILTER_SCRIPT = Path(__file__).resolve().parents[2] / "dicom" / "orthanc_plugin" / "filter.py"


def available() -> bool:
    """True when the Orthanc binary and the DICOMweb plugin are installed."""
    return Path(ORTHANC_BIN).exists() and Path(DICOMWEB_PLUGIN).exists()


@dataclass
class OrthancServer:
    """A running Orthanc on loopback."""

    base: Path
    http_port: int
    dicom_port: int
    aet: str = "ORTHANC"
    username: str = USERNAME
    password: str = PASSWORD
    modalities: dict[str, list[Any]] = field(default_factory=dict)
    always_allow_store: bool = True
    # With a path: our filter plugin (dicom/orthanc_plugin/filter.py) checks every
    # incoming C-STORE against the view file there.
    filter_view: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.username, self.password)

    def client(self, timeout: float = 30.0) -> httpx.Client:
        """A synchronous httpx client on the REST API."""
        return httpx.Client(base_url=self.url, auth=self.auth, timeout=timeout)

    def config(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        plugins = [DICOMWEB_PLUGIN]
        if self.filter_view is not None:
            plugins.append(PYTHON_PLUGIN)
            extra = {
                "PythonScript": str(FILTER_SCRIPT),
                "Telemed": {"ViewFile": str(self.filter_view)},
            }
        return extra | {
            "Name": "telemed-test",
            "StorageDirectory": str(self.base / "storage"),
            "IndexDirectory": str(self.base / "storage"),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": self.aet,
            "RemoteAccessAllowed": True,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {self.username: self.password},
            "Plugins": plugins,
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "StudiesMetadata": "Full"},
            "DicomModalities": self.modalities,
            "DicomCheckCalledAet": False,
            "DicomAlwaysAllowStore": self.always_allow_store,
            "DicomAlwaysAllowEcho": True,
            "StableAge": 2,
            "HttpTimeout": 60,
            "KeepAlive": True,
            "TcpNoDelay": True,
            "ConcurrentJobs": 2,
            "SaveJobs": False,
            "StorageAccessOnFind": "Never",
            "LogExportedResources": False,
        }

    def _launch(self) -> None:
        (self.base / "storage").mkdir(parents=True, exist_ok=True)
        cfg = self.base / "orthanc.json"
        cfg.write_text(json.dumps(self.config(), indent=1))
        env = {**os.environ, "TCP_NODELAY": "1"}
        log = open(self.base / "orthanc.log", "ab")
        self.process = subprocess.Popen(
            [ORTHANC_BIN, "--logdir=" + str(self.base), str(cfg)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.base,
        )
        log.close()
        self.wait_ready()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the REST API answers /system (or the process died)."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited with {self.process.returncode}: {self.log()}")
            try:
                r = httpx.get(self.url + "/system", auth=self.auth, timeout=1.0)
                if r.status_code == 200:
                    return
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.05)
        raise TimeoutError(f"Orthanc not ready after {timeout}s ({last}): {self.log()}")

    def log(self, tail: int = 3000) -> str:
        text = ""
        for p in sorted(self.base.glob("*.log")):
            text += p.read_text(errors="replace")
        return text[-tail:]

    def stop(self) -> None:
        """Stop the process (storage is kept until `cleanup`)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        """Start again on the same ports and storage."""
        self.stop()
        self._launch()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def reset(self) -> None:
        """Delete every stored study (between tests sharing one server)."""
        with self.client() as c:
            for sid in c.get("/studies").json():
                c.delete(f"/studies/{sid}")

    def add_modality(self, name: str, aet: str, host: str, port: int) -> None:
        """Register a DICOM peer at run time (REST, no restart)."""
        with self.client() as c:
            r = c.put(f"/modalities/{name}", json={"AET": aet, "Host": host, "Port": port})
            r.raise_for_status()


def filter_available() -> bool:
    """True when Debian's orthanc-python (the filter plugin's host) is installed."""
    return available() and Path(PYTHON_PLUGIN).exists()


def start(
    *,
    modalities: dict[str, list[Any]] | None = None,
    always_allow_store: bool = True,
    filter_view: Path | None = None,
) -> OrthancServer:
    """Start an Orthanc on free ports with a temp storage dir; waits until it answers."""
    if not available():
        raise RuntimeError(
            "Orthanc or its DICOMweb plugin is missing (apt-get install orthanc orthanc-dicomweb)"
        )
    base = Path(tempfile.mkdtemp(prefix="telemed-orthanc-"))
    server = OrthancServer(
        base=base,
        http_port=free_port(),
        dicom_port=free_port(),
        modalities=modalities or {},
        always_allow_store=always_allow_store,
        filter_view=filter_view,
    )
    server._launch()
    return server
