"""Loading the referral or consultation a ServiceRequest or Task names (visibility and audit
by the owning domain), for every handler that refers to one."""

from __future__ import annotations

from referrals import service as referral_service
from referrals.models import Referral
from telemed.consultations import service as consultation_service
from telemed.consultations.models import Consultation
from telemed.core import audit
from telemed.core.errors import NotFound
from telemed.fhir.registry import Context, ident

__all__ = ["CONSULTATION", "REFERRAL", "load"]

REFERRAL, CONSULTATION = "referral", "consultation"


def load(ctx: Context, id: str, kind: str) -> Referral | Consultation:
    """The referral or consultation with this id, if the caller may see it (read audited);
    404 otherwise, the refusal audited by the domain's loader."""
    uid = ident(id, kind)
    if ctx.session.get(Referral, uid) is not None:
        r = referral_service.get_referral(session=ctx.session, referral_id=uid, user=ctx.user)
        audit.read(
            ctx.session,
            ctx.user,
            object_type="referral",
            object_id=r.id,
            patient_ids=[r.patient_id],
        )
        return r
    if ctx.session.get(Consultation, uid) is not None:
        return consultation_service.read(
            session=ctx.session, user=ctx.user, consultation_id=uid, what="fhir"
        )
    raise NotFound(f"{kind}/{id} not found")
