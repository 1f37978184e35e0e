"""The embedded default (SQLite + local archive) takes the web uploader's parallel STOW-RS.

A real uvicorn serves the app on a SQLite file with the embedded archive, as `make run`
does. Several clients upload one 300-instance series at once, one instance per request like
the web uploader (which sends three files at a time), some instances twice. Every request
must be answered 200, every instance stored once, and the study list, QIDO and the upload
responses must agree on the count.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlmodel import Session

from tests.support.dicom_files import ct_series, to_bytes
from tests.support.uvicorn import app_env, serve

INSTANCES = 300
CLIENTS = 4
RESENT = 15  # instances a client sends again (a retried file): stored once all the same
PASSWORD = "parallel-upload-password"


def _embedded_database(tmp_path: Path) -> str:
    """A migrated SQLite file with one county hospital and one of its doctors."""
    from telemed.cli import upgrade_database
    from telemed.core.db import make_engine
    from telemed.identity.models import Role, User
    from telemed.identity.security import hash_password
    from telemed.network.models import Institution, League

    url = f"sqlite:///{tmp_path}/embedded.db"
    upgrade_database(url)
    engine = make_engine(url)
    with Session(engine) as s:
        s.add(League(code="150100", name_zh="呼和浩特市", name_en="Hohhot", kind="city"))
        s.flush()
        inst = Institution(code="U1", name_zh="上传医院", tier="county", league_code="150100")
        s.add(inst)
        s.flush()
        s.add(
            User(
                username="uploader",
                password_hash=hash_password(PASSWORD),
                role=Role.COUNTY_DOCTOR,
                full_name="uploader",
                institution_id=inst.id,
                created_at=datetime.now(UTC),
            )
        )
        s.commit()
    engine.dispose()
    return url


def _stow(client: httpx.Client, data: bytes) -> httpx.Response:
    boundary = "telemed-parallel"
    body = (
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    ctype = f'multipart/related; type="application/dicom"; boundary={boundary}'
    return client.post("/dicom-web/studies", content=body, headers={"Content-Type": ctype})


def test_parallel_stow_on_sqlite_stores_every_instance_once(tmp_path: Path) -> None:
    url = _embedded_database(tmp_path)
    env = app_env(
        TELEMED_DATABASE_URL=url,
        TELEMED_DICOM__ARCHIVE_DIR=str(tmp_path / "archive"),
        TELEMED_DICOM__SPOOL_DIR=str(tmp_path / "spool"),
    )
    datasets = ct_series(INSTANCES, size=16)
    study_uid = str(datasets[0].StudyInstanceUID)
    payloads = [to_bytes(ds) for ds in datasets]
    # Client k sends every CLIENTS-th instance, then RESENT instances of its neighbour.
    shares = [
        payloads[k::CLIENTS] + payloads[(k + 1) % CLIENTS :: CLIENTS][:RESENT]
        for k in range(CLIENTS)
    ]
    with open(tmp_path / "server.log", "w") as log, serve(env, log) as base:
        r = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "uploader", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        statuses: list[int] = []
        stored_sops: list[str] = []
        lock = threading.Lock()
        barrier = threading.Barrier(CLIENTS)

        def upload(share: list[bytes]) -> None:
            with httpx.Client(base_url=base, headers=auth, timeout=120) as client:
                barrier.wait(timeout=30)
                for data in share:
                    resp = _stow(client, data)
                    with lock:
                        statuses.append(resp.status_code)
                        if resp.status_code == 200:
                            for ref in resp.json()["00081199"]["Value"]:
                                stored_sops.append(ref["00081155"]["Value"][0])

        threads = [threading.Thread(target=upload, args=(s,)) for s in shares]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        assert not any(t.is_alive() for t in threads)
        assert statuses.count(200) == len(statuses) == INSTANCES + CLIENTS * RESENT, (
            {s: statuses.count(s) for s in set(statuses)},
            log.name,
        )
        assert len(set(stored_sops)) == INSTANCES

        with httpx.Client(base_url=base, headers=auth, timeout=60) as client:
            listed = client.get("/api/v1/studies").json()
            qido = client.get(f"/dicom-web/studies/{study_uid}/instances")
            study_qido = client.get("/dicom-web/studies", params={"StudyInstanceUID": study_uid})
    assert listed["total"] == 1
    assert listed["items"][0]["instance_count"] == INSTANCES
    assert qido.status_code == 200
    assert len(qido.json()) == INSTANCES
    assert {i["00080018"]["Value"][0] for i in qido.json()} == set(stored_sops)
    assert study_qido.json()[0]["00201208"]["Value"] == [INSTANCES]
    files = list((tmp_path / "archive" / study_uid).glob("*/*.dcm"))
    assert len(files) == INSTANCES
