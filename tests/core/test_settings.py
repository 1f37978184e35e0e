from __future__ import annotations

import pytest
from pydantic import ValidationError

from telemed.core.settings import Settings


def test_default_secret_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEMED_SECRET_KEY", raising=False)
    monkeypatch.setenv("TELEMED_ENV", "production")
    with pytest.raises(ValidationError, match="TELEMED_SECRET_KEY"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_default_secret_is_allowed_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEMED_SECRET_KEY", raising=False)
    monkeypatch.setenv("TELEMED_ENV", "development")
    assert Settings(_env_file=None).env == "development"  # type: ignore[call-arg]


def test_flat_and_nested_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMED_ORTHANC_URL", "http://orthanc:8042")
    monkeypatch.setenv("TELEMED_DICOM_PORT", "11113")
    monkeypatch.setenv("TELEMED_SCHEDULING__HOLD_MINUTES", "7")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.dicom.orthanc_url == "http://orthanc:8042"
    assert s.dicom.port == 11113
    assert s.scheduling.hold_minutes == 7
