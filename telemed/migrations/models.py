"""Every table, imported so Alembic sees the whole metadata."""

from telemed.core import audit, idempotency, notifications, throttle  # noqa: F401
from telemed.identity import models as identity_models  # noqa: F401
from telemed.network import models as network_models  # noqa: F401

# Domain packages add their models here when they land.
for _mod in (
    "scheduling.models",
    "dicom.models",
    "referrals.models",
    "telemed.consultations.models",
    "telemed.video.models",
    "telemed.reference.models",
    "telemed.training.models",
    "telemed.payments.models",
):
    try:
        __import__(_mod)
    except ModuleNotFoundError as exc:  # a domain not built yet
        if exc.name is None or not _mod.startswith(exc.name):
            raise
