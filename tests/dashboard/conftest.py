"""The consultation request factory of the consultations tests, reused here."""

from tests.consultations.conftest import demo_patient, make_request, users  # noqa: F401
