"""Every request we send is signed as API v3 requires (the fake verifies it with the
merchant certificate); every answer is verified with the platform key before use."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from telemed.payments.fake_wechat import FakeWechatPay
from telemed.payments.provider import OrderRequest, ProviderError
from telemed.payments.wechat import WechatPayProvider
from telemed.payments.wechat_devkeys import DevKeySet, provider_settings
from tests.payments.conftest import an_order


def order(no: str = "T20261204000001") -> OrderRequest:
    return an_order(no)


def test_every_request_is_signed_and_verified_by_the_fake(
    provider: WechatPayProvider, fake: FakeWechatPay
) -> None:
    provider.start(order())
    assert provider.query("T20261204000001") is None
    provider.close("T20261204000001")
    assert len(fake.requests) >= 4  # certificates, order, query, close
    assert all(ok for _, _, ok in fake.requests), fake.requests
    paths = [url for _, url, _ in fake.requests]
    assert "/v3/certificates" in paths
    assert any(
        url.startswith("/v3/pay/transactions/out-trade-no/T20261204000001?mchid=") for url in paths
    )


def test_a_request_signed_with_another_key_is_refused_sign_error(
    keyset: DevKeySet, fake: FakeWechatPay, tmp_path: Path
) -> None:
    other = tmp_path / "other_key.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    settings = provider_settings(keyset, base_url=fake.public_url).model_copy(
        update={"private_key_path": str(other)}
    )
    with pytest.raises(ProviderError) as refused:
        WechatPayProvider(settings).start(order())
    assert refused.value.code == "wechat_sign_error"
    assert fake.requests and not any(ok for _, _, ok in fake.requests)


def test_a_tampered_answer_is_refused(provider: WechatPayProvider, fake: FakeWechatPay) -> None:
    provider.start(order("T20261204000002"))  # certificates in hand
    fake.tamper_next_answer = True
    with pytest.raises(ProviderError) as refused:
        provider.query("T20261204000002")
    assert refused.value.code == "unverified_response"


def test_an_answer_signed_by_another_platform_key_is_refused(
    provider: WechatPayProvider, fake: FakeWechatPay, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider.start(order("T20261204000003"))
    intruder = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signed = fake.signed_headers
    monkeypatch.setattr(fake, "signed_headers", lambda body, **kw: signed(body, key=intruder))
    with pytest.raises(ProviderError, match="not signed by WeChat Pay"):
        provider.query("T20261204000003")


def test_platform_certificates_are_downloaded_decrypted_and_kept(
    provider: WechatPayProvider, keyset: DevKeySet, tmp_path: Path
) -> None:
    provider.start(order("T20261204000004"))
    kept = tmp_path / "certs" / f"{keyset.platform_serial}.pem"
    assert kept.read_bytes() == keyset.platform_cert.read_bytes()
    assert provider.client.keys.valid_serials() == [keyset.platform_serial]


def test_kept_certificates_are_used_without_downloading_again(
    keyset: DevKeySet, fake: FakeWechatPay, provider: WechatPayProvider, tmp_path: Path
) -> None:
    provider.start(order("T20261204000005"))
    again = WechatPayProvider(
        provider_settings(keyset, base_url=fake.public_url, cert_dir=tmp_path / "certs")
    )
    fake.requests.clear()
    assert again.query("T20261204000005") is None
    assert [url for _, url, _ in fake.requests if url == "/v3/certificates"] == []


def test_certificates_that_do_not_decrypt_with_our_apiv3_key_are_not_trusted(
    keyset: DevKeySet, fake: FakeWechatPay
) -> None:
    settings = provider_settings(keyset, base_url=fake.public_url).model_copy(
        update={"apiv3_key": "k" * 32}
    )
    with pytest.raises(ProviderError) as refused:
        WechatPayProvider(settings).start(order("T20261204000006"))
    assert refused.value.code == "unverified_response"


def test_public_key_mode_verifies_without_certificates(
    keyset: DevKeySet, fake: FakeWechatPay
) -> None:
    fake.public_key_mode = True
    settings = provider_settings(keyset, base_url=fake.public_url, public_key_mode=True)
    provider = WechatPayProvider(settings)
    assert provider.start(order("T20261204000007")).kind == "qr"
    assert "/v3/certificates" not in [url for _, url, _ in fake.requests]


def test_an_unreachable_provider_is_unavailable(keyset: DevKeySet) -> None:
    settings = provider_settings(keyset, base_url="http://127.0.0.1:9")
    with pytest.raises(ProviderError) as refused:
        WechatPayProvider(settings).start(order("T20261204000008"))
    assert refused.value.unavailable and refused.value.code == "unavailable"


def test_no_key_or_signature_reaches_the_log(
    provider: WechatPayProvider,
    fake: FakeWechatPay,
    keyset: DevKeySet,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    provider.start(order("T20261204000009"))
    fake.tamper_next_answer = True
    with pytest.raises(ProviderError):
        provider.query("T20261204000009")
    seen: list[str] = []
    verify = fake.verify_request

    def keep(method: str, url: str, headers: dict[str, str], body: bytes) -> str | None:
        seen.append(headers["authorization"])
        return verify(method, url, headers, body)

    monkeypatch.setattr(fake, "verify_request", keep)
    provider.close("T20261204000009")
    text = caplog.text
    assert caplog.records  # something was logged (the refused answer at least)
    assert keyset.apiv3_key not in text
    assert "PRIVATE KEY" not in text
    signature = seen[0].split('signature="')[1].split('"')[0]
    assert signature not in text and "WECHATPAY2-SHA256-RSA2048 mchid" not in text


def test_a_kept_certificate_past_its_validity_is_not_used(
    keyset: DevKeySet, fake: FakeWechatPay, provider: WechatPayProvider, tmp_path: Path
) -> None:
    provider.start(order("T20261204000010"))
    settings = provider_settings(keyset, base_url=fake.public_url, cert_dir=tmp_path / "certs")
    later = WechatPayProvider(settings, now=lambda: datetime.now(UTC) + timedelta(days=6 * 365))
    assert later.client.keys.valid_serials() == []
