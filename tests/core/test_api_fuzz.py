"""Schemathesis against the app's own OpenAPI: no input gives a 5xx or breaks the schema.

Every operation is called with generated valid and invalid input (path, query, headers,
body) as a few signed-in users, and path parameters are often swapped for the ids of seeded
objects (a consultation, a referral, an indexed study, the demo patient, ...) so that deep
routes get past their 404. Each response must not be a server error and must match the
documented response schema. Bounded: a few examples per operation, no shrinking, a fixed
seed; it runs inside the rolled-back test transaction like the other API tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from sqlmodel import Session, select

from tests.consultations.conftest import demo_patient, make_request, users  # noqa: F401
from tests.dicom.conftest import demo_user, indexed_study  # noqa: F401

EXAMPLES_PER_OPERATION = 6
USERS = ("admin", "coordinator", "county-doctor", "specialist", "family-doctor")


def _first_ids(session: Session, model: Any, n: int = 2) -> list[str]:
    return [str(v) for v in session.execute(select(model.id).limit(n)).scalars()]


@pytest.fixture
def known_ids(
    session: Session,
    make_request: Callable[..., dict[str, Any]],  # noqa: F811
    indexed_study: Callable[..., str],  # noqa: F811
    demo_patient: Any,  # noqa: F811
) -> dict[str, list[str]]:
    """Path parameter name -> ids of real objects the fuzzed calls may hit."""
    from dicom.models import Instance
    from referrals.models import FamilyDoctorTeam, Referral
    from scheduling.models import ScheduleRule, Slot
    from telemed.identity.models import User
    from telemed.network.models import DicomAE, Institution
    from tests.referrals.conftest import up_referral

    class _Now:
        from datetime import UTC, datetime

        at = datetime.now(UTC)

    consultation = make_request()
    up_referral(session, _Now())
    study_uid = indexed_study()
    instance = session.execute(select(Instance).where(Instance.study_uid == study_uid)).scalars()
    inst = next(iter(instance))
    known = {
        "consultation_id": [consultation["id"]],
        "referral_id": _first_ids(session, Referral),
        "study_uid": [study_uid],
        "prior_uid": [study_uid],
        "series_uid": [inst.series_uid],
        "sop_uid": [inst.sop_uid],
        "patient_id": [str(demo_patient.id)],
        "institution_id": _first_ids(session, Institution),
        "user_id": _first_ids(session, User),
        "slot_id": _first_ids(session, Slot),
        "rule_id": _first_ids(session, ScheduleRule),
        "team_id": _first_ids(session, FamilyDoctorTeam),
        "ae_id": _first_ids(session, DicomAE),
    }
    return {k: v for k, v in known.items() if v}


def _schema(app: Any, known_ids: dict[str, list[str]]) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        if not path_parameters:
            return st.just(path_parameters)
        swapped = {
            k: st.sampled_from(known_ids[k]) if k in known_ids else st.just(v)
            for k, v in path_parameters.items()
        }
        return st.one_of(st.just(path_parameters), st.fixed_dictionaries(swapped))

    return schema


SKIPPED = {
    # would revoke the shared tokens mid-run (logout has its own tests)
    "POST /api/v1/auth/logout",
}


def test_no_input_gives_a_server_error_or_breaks_the_schema(
    app: Any,
    known_ids: dict[str, list[str]],
    login: Callable[[str], dict[str, str]],
) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    tokens = [login(u) for u in USERS]
    schema = _schema(app, known_ids)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in SKIPPED:
            continue
        operations += 1
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy, who=st.sampled_from(tokens))
        def run(case: Any, who: dict[str, str]) -> None:
            case.call_and_validate(
                headers={**(case.headers or {}), **who},
                checks=[not_a_server_error, response_schema_conformance],
                timeout=120,  # slow is not wrong here: no test depends on speed
            )

        try:
            run()
        except Exception as exc:  # one line per failing operation, then fail once
            subs = [str(e) for e in getattr(exc, "exceptions", ())]
            failures.append(f"{operation.label}: " + " | ".join([str(exc), *subs])[:3000])
    assert operations > 100
    assert not failures, "\n\n".join(failures)
