"""The one place where the domains are wired together: every hook one domain registers with
another, registered explicitly instead of as a side effect of importing a router.

- identity (`permissions.register_participation`): who takes part in a patient's care
  (consultations, referrals, family-doctor contracts);
- imaging (`dicom.service.register_link_access` / `register_link_target` /
  `register_target_attach`): who reads and links the studies of a consultation or referral,
  and how a study matched to a worklist order is attached to its request;
- scheduling (`register_booking_reference`, `register_reserved_eligibility`): what a booking
  may refer to, who may use family-doctor reserved capacity;
- the FHIR server: its resource handlers and the OperationOutcome rendering of problems;
- identity's token cache (`token_cache.install`): every session's writes to users and
  tokens empty the workers' caches of resolved tokens;
- scheduling (`register_on_cancelled`): payments refunds or closes a cancelled booking's order;
- video (`video.service.register_kind`): a lecture's room (kind `training`) takes the
  course's speaker and enrolled doctors as participants, reports their attendance and lets
  the enrolled, the speaker and the managers play its recordings;
- the push channel (`live.install`, with `live.watch` / `live.register_visibility` from
  consultations and referrals): new notifications and worklist changes wake the streams.

`create_app()`, the `telemed` command and the test session call `wire()` first, so the API,
the CLI (gateway, worker, seed) and tests calling services directly see the same hooks.
"""

from __future__ import annotations

from typing import Any

from referrals import service as referrals_service
from scheduling import service as scheduling_service
from telemed.consultations import hooks as consultation_hooks
from telemed.consultations import service as consultations_service
from telemed.core import live
from telemed.fhir import hooks as fhir_hooks
from telemed.identity import token_cache
from telemed.payments import service as payments_service
from telemed.training import service as training_service
from telemed.video import service as video_service

__all__ = ["wire"]


def wire() -> None:
    """Register every cross-domain hook (idempotent: every registry ignores a repeat)."""
    referrals_service.register_hooks()
    consultation_hooks.register_hooks()
    fhir_hooks.register_hooks()
    # imaging: a signed opinion becomes a DICOM SR in its studies, sent to the county PACS
    consultations_service.register_on_signed(_on_opinion_signed)
    # payments: cancelling a paid booking refunds its order, an unpaid one's is closed
    scheduling_service.register_on_cancelled(payments_service.on_booking_cancelled)
    token_cache.install()  # writes to users and tokens empty every worker's token cache
    live.install()  # new notifications and worklist changes wake the push channel
    # video: a lecture's room admits the course's enrolled doctors and reports attendance;
    # its recordings play for the course's enrolled doctors, speaker and managers
    video_service.register_kind(
        "training",
        who=training_service.lecture_participants,
        presence=training_service.lecture_presence,
        viewers=training_service.lecture_viewer,
    )


def _on_opinion_signed(**kw: Any) -> Any:
    """`dicom.opinion_sr.on_opinion_signed`, imported on the first signature: it loads
    highdicom (about a second of CPU), which no other start-up path needs."""
    from dicom import opinion_sr

    return opinion_sr.on_opinion_signed(**kw)
