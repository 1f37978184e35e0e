"""The interface of referrals (双向转诊) and family-doctor contracts other domains call.

Interface (see notes/INTERFACES.md): `active_contract_for`, `is_contracted_doctor`, ...
The rules live in small modules this façade re-exports: `access` (who sees and acts),
`creation`, `transitions` (the workflow as data), `queries`, `filing`, `notices`, and the
family-doctor service in `referrals.family`.
"""

from __future__ import annotations

from referrals.access import ATTACHABLE, BOOKABLE, can_see_referral, get_referral, register_hooks
from referrals.creation import create_referral, link_study, unlink_study
from referrals.events import events_of
from referrals.family.contract_queries import (
    active_contract_for,
    contract_institution_column,
    contract_institution_of,
    contracts_of_team,
    is_contracted_doctor,
    read_contract,
    visible_contracts_of_patient,
)
from referrals.family.contracts import run_contract_jobs
from referrals.family.teams import teams_of_user
from referrals.filing import (
    act_on_filing,
    expire_filings,
    filing_of,
    resubmit_filing,
    revoke_filing,
    send_due_filings,
    send_filing,
)
from referrals.queries import (
    care_plans_of_team,
    complete_care_plan,
    escalate_breaches,
    list_for_user,
    receiver_worklist,
)
from referrals.transitions import send_outcome, set_contact_by, transition

__all__ = [
    "ATTACHABLE",
    "BOOKABLE",
    "act_on_filing",
    "active_contract_for",
    "can_see_referral",
    "care_plans_of_team",
    "complete_care_plan",
    "contract_institution_column",
    "contract_institution_of",
    "contracts_of_team",
    "create_referral",
    "escalate_breaches",
    "events_of",
    "expire_filings",
    "filing_of",
    "get_referral",
    "is_contracted_doctor",
    "link_study",
    "list_for_user",
    "read_contract",
    "receiver_worklist",
    "register_hooks",
    "resubmit_filing",
    "revoke_filing",
    "run_contract_jobs",
    "send_due_filings",
    "send_filing",
    "send_outcome",
    "set_contact_by",
    "teams_of_user",
    "transition",
    "unlink_study",
    "visible_contracts_of_patient",
]
