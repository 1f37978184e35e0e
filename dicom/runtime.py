"""Wiring of the long-running parts: the storage gateway, the spool forwarder and the archive's
readiness probe."""

from __future__ import annotations

from typing import Any

from dicom.archive import get_archive
from dicom.forwarder import Forwarder
from dicom.gateway import StorageGateway, registry_resolver
from dicom.owners import StudyOwners
from dicom.spool import Spool
from telemed.core.db import get_engine
from telemed.core.health import readiness_probes
from telemed.core.settings import Settings


def start_gateway(settings: Settings, *, port: int | None = None) -> list[Any]:
    """Start the forwarder and the C-STORE SCP; returns them (stop in reverse order)."""
    engine = get_engine()
    spool = Spool(settings.dicom.spool_dir)
    owners = StudyOwners(engine)  # one view for the hot path and the forwarder
    forwarder = Forwarder(
        spool=spool,
        archive=get_archive(settings),
        engine=engine,
        max_study_bytes=settings.dicom.max_study_bytes,
        workers=settings.dicom.forwarder_workers,
        owners=owners,
    ).start()
    gateway = StorageGateway(
        spool=spool,
        resolve_ae=registry_resolver(engine),
        engine=engine,
        ae_title=settings.dicom.ae_title,
        host=settings.dicom.gateway_host,
        port=settings.dicom.port if port is None else port,
        max_study_bytes=settings.dicom.max_study_bytes,
        owners=owners,
    ).start()
    return [forwarder, gateway]


def register_readiness(settings: Settings) -> None:
    """When Orthanc is configured, `/readyz` also checks that it answers (`create_app` calls
    this with the app's settings)."""
    if settings.dicom.orthanc_url:
        readiness_probes["archive"] = lambda: get_archive(settings).ping()
