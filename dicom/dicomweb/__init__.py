"""DICOMweb for readers and uploaders under `/dicom-web/` (PS3.18), per-study access.

QIDO-RS (`qido`) and WADO-RS (`wado`: instances, metadata, frames, rendered) are served
from the archive, filtered to what the caller may see: hidden studies are absent from
searches and 404 on direct access; every access is audited. STOW-RS (`stow`) stores
uploads under the uploader's institution. Standard enough for `dicomweb-client` and OHIF
with a bearer token.
"""

from __future__ import annotations

from fastapi import APIRouter

from dicom.dicomweb import qido, stow, wado

__all__ = ["router"]

router = APIRouter()
router.include_router(qido.router)
router.include_router(wado.router)
router.include_router(stow.router)
