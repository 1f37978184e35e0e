"""The demo month's ECG readings carry a real (synthetic) 12-lead recording, linked to the
request and readable by the reading specialist; the signed opinion carries its values."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from dicom.models import Instance, StudyLink
from telemed.consultations.models import Consultation, Opinion
from telemed.core import clock
from telemed.core.settings import get_settings
from telemed.identity.models import User
from telemed.identity.service import issue_token


def test_demo_ecg_readings_have_waveforms_and_signed_values(session: Session, client: Any) -> None:
    ecg_requests = session.exec(
        select(Consultation).where(Consultation.service_class == "ecg_diagnosis")
    ).all()
    assert ecg_requests, "the demo month has ECG readings"
    ids = [c.id for c in ecg_requests]
    links = session.exec(select(StudyLink).where(col(StudyLink.target_id).in_(ids))).all()
    assert {link.target_id for link in links} == set(ids)  # every one has its recording
    uids = [link.study_uid for link in links]
    classes = set(
        session.exec(select(Instance.sop_class_uid).where(col(Instance.study_uid).in_(uids))).all()
    )
    # the 12-lead waveform; beside it, once a signed opinion's SR job has run, that SR
    # (Comprehensive SR, dicom.opinion_sr): nothing else
    assert "1.2.840.10008.5.1.4.1.1.9.1.1" in classes
    assert classes <= {"1.2.840.10008.5.1.4.1.1.9.1.1", "1.2.840.10008.5.1.4.1.1.88.33"}

    signed = session.exec(
        select(Opinion)
        .where(col(Opinion.consultation_id).in_(ids))
        .where(col(Opinion.signed_at).is_not(None))
    ).all()
    assert signed and all(op.ecg_measurements for op in signed)
    op = signed[0]
    assert op.canonical is not None and '"ecg_measurements"' in op.canonical
    study_uid = op.ecg_measurements["study_uid"]  # type: ignore[index]
    reader = session.get(User, op.author_id)
    assert reader is not None
    token, _ = issue_token(session=session, user=reader, now=clock.now(), settings=get_settings())
    r = client.get(f"/api/v1/studies/{study_uid}/ecg", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert [lead["label"] for lead in r.json()["leads"]][:3] == ["I", "II", "III"]
