"""Routes of the reading workstation: measurements/key images as SR, priors, viewer context.

Added onto the imaging router by `dicom.api` (`router.include_router`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dicom import context, priors
from dicom.archive import ArchiveDep
from dicom.reading_schemas import MeasurementsIn, MeasurementsOut, Priors, ViewerContext
from dicom.schemas import UIDPath
from dicom.visibility import get_visible_study, record_access
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.identity.deps import ClientIP, CurrentUser, StaffUser

router = APIRouter(tags=["imaging"])  # included under the imaging router's /api/v1


@router.post(
    "/studies/{study_uid}/measurements",
    response_model=MeasurementsOut,
    status_code=201,
    responses={202: {"model": MeasurementsOut, "description": "spooled: archive unavailable"}},
)
def save_measurements(
    study_uid: UIDPath,
    body: MeasurementsIn,
    session: SessionDep,
    user: CurrentUser,
    archive: ArchiveDep,
    settings: SettingsDep,
    now: NowDep,
    ip: ClientIP,
) -> JSONResponse:
    """Save measurements (DICOM SR TID 1500) and key images (Key Object Selection)."""
    from dicom import reading  # highdicom, loaded on first use (not at every start)

    out, stored = reading.save(
        session=session,
        user=user,
        study_uid=study_uid,
        body=body,
        archive=archive,
        settings=settings,
        now=now,
        ip=ip,
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if stored else 202)


@router.get("/studies/{study_uid}/measurements", response_model=MeasurementsOut)
def read_measurements(
    study_uid: UIDPath,
    session: SessionDep,
    user: CurrentUser,
    archive: ArchiveDep,
    now: NowDep,
    ip: ClientIP,
) -> MeasurementsOut:
    """The study's newest measurements and key images, parsed back from its SR documents."""
    from dicom import reading  # highdicom, loaded on first use

    return reading.read(
        session=session, user=user, study_uid=study_uid, archive=archive, now=now, ip=ip
    )


@router.get("/studies/{study_uid}/priors", response_model=Priors)
def find_priors(
    study_uid: UIDPath,
    session: SessionDep,
    user: StaffUser,
    settings: SettingsDep,
    now: NowDep,
    ip: ClientIP,
) -> Priors:
    """The patient's other studies: ours the caller may see, and the county PACS's (C-FIND)."""
    study = get_visible_study(session=session, user=user, study_uid=study_uid)
    record_access(session=session, user=user, study=study, what="priors-find", now=now, ip=ip)
    return priors.find(session=session, user=user, study=study, settings=settings, now=now)


@router.get("/studies/{study_uid}/context", response_model=ViewerContext)
def viewer_context(
    study_uid: UIDPath, session: SessionDep, user: CurrentUser, now: NowDep, ip: ClientIP
) -> ViewerContext:
    """What the viewer's overlay needs beside DICOMweb: the study and its consultations."""
    study = get_visible_study(session=session, user=user, study_uid=study_uid)
    record_access(session=session, user=user, study=study, what="context", now=now, ip=ip)
    return context.of(session=session, user=user, study=study)
