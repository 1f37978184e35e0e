"""The demo county hospital's PACS for `make run`: a pynetdicom Storage SCP keeping what it
receives in a directory, answering C-ECHO and a study-level C-FIND (by Patient ID) over it.

    python -m dicom.demo_pacs [--port 11113] [--ae DEMO_PACS] [--dir var/demo-pacs]

It is where a signed opinion's SR goes (the `opinion_sr` job sends it to the requesting
hospital's registered PACS; `telemed.demo_activity.county_pacs` registers this one) and what
the viewer's priors ask. A stand-in for a county's real PACS, not an archive: no C-MOVE, one
file per SOP instance under `<dir>/<Study Instance UID>/`.
"""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind,
    Verification,
)
from pynetdicom.transport import ThreadedAssociationServer

AE_TITLE = "DEMO_PACS"
PORT = 11113
SAFE_UID = re.compile(r"^[0-9.]{1,64}$")
log = logging.getLogger(__name__)


def _on_store(event: Any, directory: Path) -> int:
    ds = event.dataset
    ds.file_meta = event.file_meta
    study, sop = str(ds.get("StudyInstanceUID", "")), str(ds.get("SOPInstanceUID", ""))
    if not (SAFE_UID.match(study) and SAFE_UID.match(sop)):
        return 0xA900  # dataset does not match the SOP class: no usable UIDs
    target = directory / study
    target.mkdir(parents=True, exist_ok=True)
    ds.save_as(target / f"{sop}.dcm", enforce_file_format=True)
    log.info("stored %s of study %s from %s", sop, study, event.assoc.requestor.ae_title)
    return 0x0000


def _studies(directory: Path, patient_id: str) -> Iterator[Dataset]:
    for study_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        files = sorted(study_dir.glob("*.dcm"))
        if not files:
            continue
        headers = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
        first = headers[0]
        if patient_id and str(first.get("PatientID", "")) != patient_id:
            continue
        out = Dataset()
        out.QueryRetrieveLevel = "STUDY"
        out.StudyInstanceUID = study_dir.name
        for keyword in ("PatientID", "PatientName", "StudyDate", "StudyDescription"):
            setattr(out, keyword, first.get(keyword, ""))
        out.ModalitiesInStudy = sorted({str(h.get("Modality", "")) for h in headers} - {""})
        out.BodyPartExamined = next(
            (str(h.BodyPartExamined) for h in headers if h.get("BodyPartExamined")), ""
        )
        yield out


def _on_find(event: Any, directory: Path) -> Iterator[tuple[int, Dataset | None]]:
    query = event.identifier
    if str(query.get("QueryRetrieveLevel", "")) != "STUDY":
        yield 0xC000, None  # unable to process: this stand-in answers study level only
        return
    for found in _studies(directory, str(query.get("PatientID", "") or "")):
        if event.is_cancelled:
            yield 0xFE00, None
            return
        yield 0xFF00, found


def _ae(directory: Path, ae_title: str) -> tuple[AE, list[Any]]:
    directory.mkdir(parents=True, exist_ok=True)
    ae = AE(ae_title=ae_title)
    for cx in AllStoragePresentationContexts:
        ae.add_supported_context(str(cx.abstract_syntax), ALL_TRANSFER_SYNTAXES)
    ae.add_supported_context(Verification)
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
    handlers = [
        (evt.EVT_C_STORE, _on_store, [directory]),
        (evt.EVT_C_FIND, _on_find, [directory]),
    ]
    return ae, handlers


def start(
    *, directory: Path, port: int = PORT, ae_title: str = AE_TITLE, host: str = "127.0.0.1"
) -> ThreadedAssociationServer:
    """Start the SCP in its own threads; `.shutdown()` stops it."""
    ae, handlers = _ae(directory, ae_title)
    server = ae.start_server((host, port), block=False, evt_handlers=handlers)
    assert isinstance(server, ThreadedAssociationServer)
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--ae", default=AE_TITLE)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--dir", type=Path, default=Path("var/demo-pacs"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="demo-pacs: %(message)s")
    ae, handlers = _ae(args.dir, args.ae)
    log.info("%s listening on %s:%s, storing into %s", args.ae, args.host, args.port, args.dir)
    ae.start_server((args.host, args.port), block=True, evt_handlers=handlers)


if __name__ == "__main__":
    main()
