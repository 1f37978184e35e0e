"""The demo county hospital's PACS, registered once the demo month is replayed.

`make run` starts it (`python -m dicom.demo_pacs`, scripts/run.sh) on 127.0.0.1:11113; an
opinion signed afterwards for a request of that hospital sends its SR there (the month's own
opinions, replayed before, were written without a PACS to send to). Idempotent.
"""

from __future__ import annotations

from sqlmodel import Session, select

from dicom import service as imaging
from telemed.network.models import DicomAE
from telemed.seed import DEMO_AE_TITLE


def register_county_pacs(session: Session) -> DicomAE | None:
    """The demo county hospital's PACS AE (its CT scanner's hospital); None without a demo."""
    existing = session.exec(
        select(DicomAE).where(DicomAE.ae_title == imaging.DEMO_PACS_AE_TITLE)
    ).first()
    if existing is not None:
        return existing
    scanner = session.exec(select(DicomAE).where(DicomAE.ae_title == DEMO_AE_TITLE)).first()
    if scanner is None:
        return None
    pacs = DicomAE(
        institution_id=scanner.institution_id,
        ae_title=imaging.DEMO_PACS_AE_TITLE,
        host="127.0.0.1",
        port=imaging.DEMO_PACS_PORT,
        kind="pacs",
        description="demo county PACS (python -m dicom.demo_pacs)",
    )
    session.add(pacs)
    session.flush()
    return pacs
