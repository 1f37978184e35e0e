from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from telemed.core.settings import EXAMPLE_SECRETS, Settings


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


def _production(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in ("TELEMED_SECURITY__ARGON2_TIME_COST", "TELEMED_SECURITY__ARGON2_MEMORY_KIB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEMED_ENV", "production")
    monkeypatch.setenv("TELEMED_SECRET_KEY", "s" * 32)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def _env_example() -> dict[str, str]:
    values = {}
    for line in (Path(__file__).parents[2] / ".env.example").read_text().splitlines():
        if line.startswith("TELEMED_") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = value.split("#", 1)[0].strip()
    return values


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TELEMED_SECRET_KEY": "x"}, "TELEMED_SECRET_KEY is 1 bytes"),
        ({"TELEMED_SECRET_KEY": "s" * 31}, "at least 32"),
        ({"TELEMED_SECRET_KEY": "CHANGE_ME_LONG_RANDOM"}, "example value"),
        (
            {"TELEMED_TURN_URLS": '["turn:t.example:3478"]', "TELEMED_TURN_SECRET": "short"},
            "TELEMED_TURN_SECRET is 5 bytes",
        ),
        ({"TELEMED_ORTHANC_PASSWORD": "CHANGE_ME"}, "TELEMED_ORTHANC_PASSWORD"),
        ({"TELEMED_DATABASE_URL": "postgresql://telemed:CHANGE_ME@db/telemed"}, "DATABASE_URL"),
        ({"TELEMED_SECURITY__ARGON2_MEMORY_KIB": "8"}, "argon2 cost"),
    ],
)
def test_production_refuses_weak_configuration(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _production(monkeypatch, **env)


def test_every_secret_of_the_env_example_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = _env_example()
    secrets = {k: v for k, v in example.items() if "SECRET" in k or "PASSWORD" in k}
    assert secrets, ".env.example lists the secrets"
    for name, value in secrets.items():
        assert value in EXAMPLE_SECRETS, f"{name}={value} of .env.example is not refused"
    with pytest.raises(ValidationError):
        _production(monkeypatch, **example)


def test_production_accepts_real_secrets_and_hides_the_api_docs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = _production(monkeypatch, TELEMED_SECRET_KEY="a-real-random-secret-of-44-bytes-xxxxxxxxxxx")
    assert s.api_docs_enabled is False
    assert _production(monkeypatch, TELEMED_API_DOCS="true").api_docs_enabled is True
    monkeypatch.setenv("TELEMED_ENV", "development")
    assert Settings(_env_file=None).api_docs_enabled is True  # type: ignore[call-arg]


_AGENCY = "TELEMED_REFERRALS__FILING_AGENCY__"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({f"{_AGENCY}URL": "https://agency.example/api"}, f"{_AGENCY}PAASID, {_AGENCY}TOKEN"),
        (
            {
                f"{_AGENCY}URL": "https://agency.example/api",
                f"{_AGENCY}PAASID": "p",
                f"{_AGENCY}FIXMEDINS_CODE": "H15010000001",
                f"{_AGENCY}TOKEN": "CHANGE_ME",
            },
            f"{_AGENCY}TOKEN is an example value",
        ),
        (
            {
                f"{_AGENCY}URL": "https://agency.example/api",
                f"{_AGENCY}PAASID": "p",
                f"{_AGENCY}FIXMEDINS_CODE": "H15010000001",
                f"{_AGENCY}TOKEN": "short",
            },
            f"{_AGENCY}TOKEN is 5 bytes",
        ),
    ],
)
def test_production_refuses_an_agency_without_its_credentials(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _production(
            monkeypatch, TELEMED_SECRET_KEY="a-real-random-secret-of-44-bytes-xxxxxxxxxxx", **env
        )


def test_the_agency_token_has_no_default_and_a_real_one_is_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings(_env_file=None).referrals.filing_agency.token is None  # type: ignore[call-arg]
    s = _production(
        monkeypatch,
        TELEMED_SECRET_KEY="a-real-random-secret-of-44-bytes-xxxxxxxxxxx",
        **{
            f"{_AGENCY}URL": "https://agency.example/api",
            f"{_AGENCY}PAASID": "p",
            f"{_AGENCY}FIXMEDINS_CODE": "H15010000001",
            f"{_AGENCY}TOKEN": "t" * 32,
        },
    )
    assert s.referrals.filing_agency.url == "https://agency.example/api"
    assert _env_example()[f"{_AGENCY}TOKEN"] in EXAMPLE_SECRETS
