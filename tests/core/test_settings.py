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
    secrets = {
        k: v for k, v in example.items() if "SECRET" in k or "PASSWORD" in k or "APIV3_KEY" in k
    }
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


WECHAT = {
    "TELEMED_PAYMENTS__PROVIDERS": '["wechat"]',
    "TELEMED_PAYMENTS__WECHAT__MCHID": "1900000109",
    "TELEMED_PAYMENTS__WECHAT__APPID": "wxd678efh567hg6787",
    "TELEMED_PAYMENTS__WECHAT__CERT_SERIAL_NO": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
    "TELEMED_PAYMENTS__WECHAT__PRIVATE_KEY_PATH": "/etc/telemed/wechatpay/apiclient_key.pem",
    "TELEMED_PAYMENTS__WECHAT__APIV3_KEY": "a" * 32,
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TELEMED_PAYMENTS__WECHAT__MCHID": ""}, "TELEMED_PAYMENTS__WECHAT__MCHID"),
        ({"TELEMED_PAYMENTS__WECHAT__APPID": ""}, "TELEMED_PAYMENTS__WECHAT__APPID"),
        ({"TELEMED_PAYMENTS__WECHAT__CERT_SERIAL_NO": ""}, "__CERT_SERIAL_NO"),
        ({"TELEMED_PAYMENTS__WECHAT__PRIVATE_KEY_PATH": ""}, "__PRIVATE_KEY_PATH"),
        ({"TELEMED_PAYMENTS__WECHAT__APIV3_KEY": "CHANGE_ME"}, "__APIV3_KEY"),
        ({"TELEMED_PAYMENTS__WECHAT__MCHID": "CHANGE_ME"}, "not an example value"),
        ({"TELEMED_PAYMENTS__WECHAT__APIV3_KEY": "short"}, "32-byte"),
        ({"TELEMED_PAYMENTS__WECHAT__PUBLIC_KEY_ID": "PUB_KEY_ID_01"}, "go together"),
        ({"TELEMED_PAYMENTS__WECHAT__BASE_URL": "http://fake:8010"}, "https"),
    ],
)
def test_production_refuses_incomplete_wechat_pay(
    monkeypatch: pytest.MonkeyPatch, change: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _production(monkeypatch, **{**WECHAT, **change})


def test_production_accepts_complete_wechat_pay_and_ignores_it_when_not_offered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _production(monkeypatch, **WECHAT).payments.wechat.mchid == "1900000109"
    offered = {**WECHAT, "TELEMED_PAYMENTS__PROVIDERS": '["sandbox"]'}
    incomplete = {**offered, "TELEMED_PAYMENTS__WECHAT__APIV3_KEY": "CHANGE_ME"}
    assert _production(monkeypatch, **incomplete).payments.providers == ["sandbox"]


def test_the_env_example_wechat_values_are_refused_when_wechat_is_offered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = {k: v for k, v in _env_example().items() if k.startswith("TELEMED_PAYMENTS__WECHAT")}
    assert example["TELEMED_PAYMENTS__WECHAT__APIV3_KEY"] in EXAMPLE_SECRETS
    with pytest.raises(ValidationError, match="WeChat Pay"):
        _production(monkeypatch, TELEMED_PAYMENTS__PROVIDERS='["wechat"]', **example)


def test_alipay_without_its_app_id_and_keys_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key, public = tmp_path / "app.pem", tmp_path / "alipay.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    public.write_text("-----BEGIN PUBLIC KEY-----\n")
    alipay = {"TELEMED_PAYMENTS__PROVIDERS": '["alipay"]'}
    with pytest.raises(ValidationError, match="Alipay needs TELEMED_PAYMENTS__ALIPAY__APP_ID, "):
        _production(monkeypatch, **alipay)
    alipay |= {
        "TELEMED_PAYMENTS__ALIPAY__APP_ID": "CHANGE_ME",
        "TELEMED_PAYMENTS__ALIPAY__APP_PRIVATE_KEY_PATH": str(tmp_path / "absent.pem"),
        "TELEMED_PAYMENTS__ALIPAY__ALIPAY_PUBLIC_KEY_PATH": str(public),
    }
    with pytest.raises(ValidationError, match="Alipay needs TELEMED_PAYMENTS__ALIPAY__APP_ID"):
        _production(monkeypatch, **alipay)
    alipay["TELEMED_PAYMENTS__ALIPAY__APP_ID"] = "2021004100000000"
    with pytest.raises(ValidationError, match="key files are missing: .*absent.pem"):
        _production(monkeypatch, **alipay)
    alipay["TELEMED_PAYMENTS__ALIPAY__APP_PRIVATE_KEY_PATH"] = str(key)
    with pytest.raises(ValidationError, match="must be https"):
        _production(monkeypatch, TELEMED_PAYMENTS__ALIPAY__GATEWAY="http://fake:8790/", **alipay)
    monkeypatch.delenv("TELEMED_PAYMENTS__ALIPAY__GATEWAY")
    settings = _production(monkeypatch, **alipay)
    assert settings.payments.alipay.app_id == "2021004100000000"
    assert settings.payments.alipay.gateway == "https://openapi.alipay.com/gateway.do"
    monkeypatch.setenv("TELEMED_ENV", "development")  # the fake gateway and dev keys
    monkeypatch.setenv("TELEMED_PAYMENTS__ALIPAY__GATEWAY", "http://127.0.0.1:8790/gateway.do")
    assert Settings(_env_file=None).payments.providers == ["alipay"]  # type: ignore[call-arg]


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
