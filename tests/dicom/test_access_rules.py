"""Who sees a study: owner institution, linked participants, the patient; nobody else."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlmodel import select

from dicom import service
from telemed.core.audit import AuditEvent
from telemed.core.errors import NotFound
from telemed.identity.models import Patient, Role, User


def _other_patient_user(session, demo_user):  # type: ignore[no-untyped-def]
    from telemed.core import clock

    p = Patient(
        name="其他",
        sex="female",
        birth_date=date(1990, 1, 1),
        resident_id_hash=uuid.uuid4().hex,
        resident_id_masked="1501**********0000",
        created_at=clock.now(),
    )
    session.add(p)
    session.flush()
    u = User(
        username=f"other-{uuid.uuid4().hex[:6]}",
        password_hash="x",
        role=Role.PATIENT,
        full_name="其他",
        patient_id=p.id,
        created_at=clock.now(),
    )
    session.add(u)
    session.flush()
    return u


def test_authorization_matrix(session, demo_user, indexed_study, link_participants, clock):  # type: ignore[no-untyped-def]
    patient_user = demo_user("patient")
    uid = indexed_study("county-doctor", patient_id=patient_user.patient_id)
    county, specialist, other_spec = (
        demo_user("county-doctor"),
        demo_user("specialist"),
        demo_user("specialist2"),
    )
    other_patient = _other_patient_user(session, demo_user)

    def sees(u):  # type: ignore[no-untyped-def]
        return service.can_see_study(session=session, user=u, study_uid=uid)

    assert sees(county)  # owner institution
    assert sees(patient_user)  # the patient it belongs to
    assert not sees(specialist)  # not linked yet
    assert not sees(other_spec)
    assert not sees(other_patient)
    assert sees(demo_user("admin"))

    consultation = uuid.uuid4()
    link_participants[consultation] = {county.id, specialist.id}
    link = service.link_study(
        session=session,
        study_uid=uid,
        target_type="consultation",
        target_id=consultation,
        by=county,
        now=clock(),
    )
    again = service.link_study(
        session=session,
        study_uid=uid,
        target_type="consultation",
        target_id=consultation,
        by=county,
        now=clock(),
    )
    assert again.id == link.id
    assert sees(specialist)  # linked specialist
    assert not sees(other_spec)  # unlinked specialist
    assert not sees(other_patient)

    listed = {s.study_uid for s in service.list_studies(session=session, user=specialist)[0]}
    assert uid in listed
    assert uid not in {
        s.study_uid for s in service.list_studies(session=session, user=other_spec)[0]
    }
    assert [
        s.study_uid
        for s in service.studies_for(
            session=session, target_type="consultation", target_id=consultation
        )
    ] == [uid]
    audit = (
        session.execute(
            select(AuditEvent).where(AuditEvent.object_id == uid, AuditEvent.action == "create")
        )
        .scalars()
        .all()
    )
    assert len(audit) == 1 and audit[0].detail["what"] == "link"


def test_linking_requires_seeing_the_study(session, demo_user, indexed_study, clock):  # type: ignore[no-untyped-def]
    uid = indexed_study("county-doctor")
    with pytest.raises(NotFound):
        service.link_study(
            session=session,
            study_uid=uid,
            target_type="referral",
            target_id=uuid.uuid4(),
            by=demo_user("specialist"),
            now=clock(),
        )
    with pytest.raises(NotFound):
        service.get_visible_study(session=session, user=demo_user("specialist"), study_uid="1.2.3")


def test_same_instance_twice_is_indexed_once(session, demo_user, clock):  # type: ignore[no-untyped-def]
    info = service.InstanceInfo(
        study_uid="1.2.826.0.1.3680043.10.1234.77",
        series_uid="1.2.826.0.1.3680043.10.1234.77.1",
        sop_uid="1.2.826.0.1.3680043.10.1234.77.1.1",
        sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
        transfer_syntax_uid="1.2.840.10008.1.2.1",
        size_bytes=500,
        modality="CT",
    )
    inst = demo_user("county-doctor").institution_id
    kw = dict(institution_id=inst, source_ae="DEMO_COUNTY", source="cstore", now=clock())
    study, created = service.index_instance(session=session, info=info, **kw)
    assert created
    study, created = service.index_instance(session=session, info=info, **kw)
    assert not created
    assert (study.instance_count, study.series_count, study.size_bytes) == (1, 1, 500)
