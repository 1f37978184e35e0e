"""Patient: identity's `read_patient` and `find_patients` (visibility and audit there)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.patient import Patient as FhirPatient

from telemed.core.errors import Forbidden
from telemed.fhir.registry import (
    Context,
    Handler,
    Page,
    Resource,
    SearchParam,
    ident,
    sliced,
    token,
)
from telemed.identity import service as identity_service
from telemed.identity.models import Patient, Role

SYSTEM = "https://telemed.example/fhir/"
_GENDER = {"M": "male", "F": "female", "male": "male", "female": "female"}


def patient_resource(p: Patient) -> Resource:
    """The patient as the REST API shows them: masked resident ID, masked phone."""
    public = identity_service.patient_public(p)
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(p.id),
        "identifier": [
            {
                "system": SYSTEM + "sid/resident-id-masked",
                "value": public.resident_id_masked,
            }
        ],
        "name": [{"text": p.name}],
        "gender": _GENDER.get(p.sex, "unknown"),
        "birthDate": p.birth_date.isoformat(),
    }
    if p.name_mn:  # the Mongolian-script name, tagged with its language
        language = {"url": "http://hl7.org/fhir/StructureDefinition/language"}
        body["name"].append({"text": p.name_mn, "extension": [language | {"valueCode": "mn-Mong"}]})
    if p.preferred_language:
        code = {"system": "urn:ietf:bcp:47", "code": p.preferred_language}
        body["communication"] = [{"language": {"coding": [code]}, "preferred": True}]
    if public.phone_masked:
        body["telecom"] = [{"system": "phone", "value": public.phone_masked}]
    if p.institution_id:
        body["managingOrganization"] = {"reference": f"Organization/{p.institution_id}"}
    return FhirPatient.model_validate(body).model_dump(mode="json", exclude_none=True)


def read_patient(ctx: Context, id: str) -> Resource:
    p = identity_service.read_patient(
        session=ctx.session, user=ctx.user, patient_id=ident(id, "Patient")
    )
    return patient_resource(p)


def search_patients(ctx: Context, params: dict[str, list[str]], count: int, offset: int) -> Page:
    """`name` (prefix) or `identifier` (the full resident ID number), as `GET /patients`."""
    names = params.get("name", [])
    ids = params.get("identifier", [])
    if ctx.user.role == Role.PATIENT and (names or ids):
        raise Forbidden("patients cannot search other patients")
    rows = identity_service.find_patients(
        session=ctx.session,
        user=ctx.user,
        query=names[-1] if names else None,
        resident_id=token(ids[-1]) if ids else None,
        settings=ctx.settings,
        limit=offset + count + 1,
    )
    page, more = sliced(rows, count, offset)
    total = identity_service.count_patients(
        session=ctx.session,
        user=ctx.user,
        query=names[-1] if names else None,
        resident_id=token(ids[-1]) if ids else None,
        settings=ctx.settings,
    )
    return Page(resources=[patient_resource(p) for p in page], total=total, more=more)


HANDLERS: tuple[Handler, ...] = (
    Handler(
        type="Patient",
        documentation="Patients the caller may see (resident ID and phone masked).",
        read=read_patient,
        search=search_patients,
        params=(
            SearchParam("name", "string", "name prefix"),
            SearchParam("identifier", "token", "the 18-digit resident ID number (exact)"),
        ),
    ),
)
