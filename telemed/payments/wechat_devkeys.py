"""A development key set for WeChat Pay (tests and `make run` only, never production):
the merchant's API key and self-signed certificate, the fake platform's key, certificate
and public key (微信支付公钥 mode), and an APIv3 key, written into one directory.

    <dir>/keyset.json             ids, serials, the APIv3 key (mode 0600)
    <dir>/apiclient_key.pem       merchant API private key (what TELEMED_… names)
    <dir>/apiclient_cert.pem      merchant API certificate (the fake verifies with it)
    <dir>/platform_key.pem        the fake platform's private key
    <dir>/platform_cert.pem       its certificate (served, encrypted, by /v3/certificates)
    <dir>/pub_key.pem             its public key, for public-key mode
    <dir>/wechat.env              TELEMED_PAYMENTS__WECHAT__* for a server using the fake
"""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from telemed.core.payment_settings import WechatPaySettings

__all__ = ["DevKeySet", "create_dev_keyset", "provider_settings", "write_env_file"]

# The example ids WeChat Pay's own documentation uses.
DEV_MCHID = "1900000109"
DEV_APPID = "wxd678efh567hg6787"
DEV_PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092026120400000000000001"


@dataclass(frozen=True)
class DevKeySet:
    directory: Path
    mchid: str
    appid: str
    merchant_serial: str
    platform_serial: str
    public_key_id: str
    apiv3_key: str

    @property
    def merchant_key(self) -> Path:
        return self.directory / "apiclient_key.pem"

    @property
    def merchant_cert(self) -> Path:
        return self.directory / "apiclient_cert.pem"

    @property
    def platform_key(self) -> Path:
        return self.directory / "platform_key.pem"

    @property
    def platform_cert(self) -> Path:
        return self.directory / "platform_cert.pem"

    @property
    def platform_public_key(self) -> Path:
        return self.directory / "pub_key.pem"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_and_cert(
    directory: Path, stem: str, cert_name: str, common_name: str
) -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "telemed development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=5 * 365))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(directory / f"{stem}.pem", pem)
    (directory / cert_name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, format(cert.serial_number, "X")


def create_dev_keyset(directory: Path) -> DevKeySet:
    """The key set in `directory`, created when absent (kept across runs)."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    meta = directory / "keyset.json"
    if meta.exists():
        values = json.loads(meta.read_text())
        return DevKeySet(directory=directory, **values)
    _, merchant_serial = _key_and_cert(directory, "apiclient_key", "apiclient_cert.pem", DEV_MCHID)
    platform, platform_serial = _key_and_cert(
        directory, "platform_key", "platform_cert.pem", "Tenpay.com Root CA (development fake)"
    )
    (directory / "pub_key.pem").write_bytes(
        platform.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    alphabet = string.ascii_letters + string.digits
    keyset = DevKeySet(
        directory=directory,
        mchid=DEV_MCHID,
        appid=DEV_APPID,
        merchant_serial=merchant_serial,
        platform_serial=platform_serial,
        public_key_id=DEV_PUBLIC_KEY_ID,
        apiv3_key="".join(secrets.choice(alphabet) for _ in range(32)),
    )
    values = {k: v for k, v in asdict(keyset).items() if k != "directory"}
    _write_private(meta, json.dumps(values, indent=2).encode())
    return keyset


def provider_settings(
    keyset: DevKeySet, *, base_url: str, cert_dir: Path | None = None, public_key_mode: bool = False
) -> WechatPaySettings:
    """Settings of a provider talking to the fake at `base_url` with this key set."""
    return WechatPaySettings(
        base_url=base_url,
        mchid=keyset.mchid,
        appid=keyset.appid,
        cert_serial_no=keyset.merchant_serial,
        private_key_path=str(keyset.merchant_key),
        apiv3_key=keyset.apiv3_key,
        cert_dir=str(cert_dir) if cert_dir else None,
        public_key_path=str(keyset.platform_public_key) if public_key_mode else None,
        public_key_id=keyset.public_key_id if public_key_mode else None,
    )


def write_env_file(keyset: DevKeySet, *, base_url: str, cert_dir: Path) -> Path:
    """`wechat.env`: the TELEMED_PAYMENTS__WECHAT__* lines of a server using the fake."""
    settings = provider_settings(keyset, base_url=base_url, cert_dir=cert_dir.resolve())
    lines = [
        f"TELEMED_PAYMENTS__WECHAT__{name.upper()}={value}"
        for name, value in settings.model_dump().items()
        if value is not None
    ]
    target = keyset.directory / "wechat.env"
    _write_private(target, ("\n".join(lines) + "\n").encode())
    return target
