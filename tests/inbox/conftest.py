"""The consultation fixtures (demo users, a request factory over the API) for inbox tests."""

from tests.consultations.conftest import demo_patient, make_request, users  # noqa: F401
