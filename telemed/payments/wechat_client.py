"""Signed HTTP to WeChat Pay API v3 (微信支付 APIv3): request signatures, response
verification, the platform certificates and the AEAD_AES_256_GCM envelope.

Every request carries `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,
signature=…,timestamp=…,serial_no=…`, the merchant key's SHA256-with-RSA signature over
"METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n". Every answer is verified with the platform key
named by `Wechatpay-Serial` over "TIMESTAMP\\nNONCE\\nBODY\\n" before it is read; one that
does not verify raises ProviderError (`unverified_response`). Nothing secret (keys, the
APIv3 key, signatures, Authorization headers) is ever logged.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from telemed.core import clock
from telemed.core.payment_settings import WechatPaySettings
from telemed.payments.provider import NotificationRejected, ProviderError

__all__ = [
    "AUTH_SCHEMA",
    "MAX_CLOCK_SKEW_SECONDS",
    "PlatformKeys",
    "WechatClient",
    "aead_decrypt",
    "header",
    "rsa_sign",
    "rsa_verify",
]

AUTH_SCHEMA = "WECHATPAY2-SHA256-RSA2048"
# WeChat Pay asks merchants to refuse answers and notifications whose timestamp is more
# than 5 minutes away from their own clock (replays).
MAX_CLOCK_SKEW_SECONDS = 300
# An unknown serial triggers a certificate download at most this often (a stream of forged
# notifications naming made-up serials must not become a stream of downloads).
REFRESH_INTERVAL_SECONDS = 60.0
log = logging.getLogger(__name__)


def rsa_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    """Base64 SHA256-with-RSA (PKCS#1 v1.5) signature of `message` (UTF-8)."""
    raw = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode()


def rsa_verify(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    """Whether `signature` (base64) is the key's SHA256-with-RSA signature of `message`."""
    try:
        key.verify(
            base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def aead_decrypt(apiv3_key: bytes, *, nonce: str, associated_data: str, ciphertext: str) -> bytes:
    """Open an AEAD_AES_256_GCM `resource` (ciphertext base64, tag appended); raises
    InvalidTag or ValueError when it does not open with this key."""
    return AESGCM(apiv3_key).decrypt(
        nonce.encode(), base64.b64decode(ciphertext, validate=True), associated_data.encode()
    )


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (Starlette, httpx and plain dicts alike)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def _load_private_key(path: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ProviderError("the merchant API key is not an RSA key", code="bad_configuration")
    return key


def _rsa_public(key: object) -> rsa.RSAPublicKey:
    if not isinstance(key, rsa.RSAPublicKey):
        raise ProviderError("a WeChat Pay platform key is not RSA", code="bad_platform_key")
    return key


class PlatformKeys:
    """The platform certificates (平台证书) by serial number, and the platform public key
    (微信支付公钥) by its id when configured. Certificates come from `GET /v3/certificates`,
    decrypted with the APIv3 key, are kept in `cert_dir` as `<serial>.pem` and used only
    within their validity; an unknown serial refreshes them (at most once a minute)."""

    def __init__(
        self,
        settings: WechatPaySettings,
        download: Callable[[], dict[str, x509.Certificate]],
        now: Callable[[], datetime] = clock.now,
    ):
        self._download = download
        self._now = now
        self._dir = Path(settings.cert_dir) if settings.cert_dir else None
        self._certs: dict[str, x509.Certificate] = {}
        self._public_key_id = settings.public_key_id
        self._public_key: rsa.RSAPublicKey | None = None
        if settings.public_key_path:
            pem = Path(settings.public_key_path).read_bytes()
            self._public_key = _rsa_public(serialization.load_pem_public_key(pem))
        self._lock = threading.Lock()
        self._last_refresh = -REFRESH_INTERVAL_SECONDS
        self._loaded = False

    def _valid(self, cert: x509.Certificate) -> bool:
        now = self._now()
        return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc

    def _load_dir(self) -> None:
        if self._loaded or self._dir is None or not self._dir.is_dir():
            self._loaded = True
            return
        for path in sorted(self._dir.glob("*.pem")):
            try:
                cert = x509.load_pem_x509_certificate(path.read_bytes())
            except ValueError:
                log.warning("wechat pay: %s is not a certificate; ignored", path.name)
                continue
            self._certs[format(cert.serial_number, "X")] = cert
        self._loaded = True

    def store(self, certs: Mapping[str, x509.Certificate]) -> None:
        """Keep verified certificates (in memory and in cert_dir)."""
        with self._lock:
            for serial, cert in certs.items():
                self._certs[serial] = cert
                if self._dir is not None:
                    self._dir.mkdir(parents=True, exist_ok=True)
                    target = self._dir / f"{serial}.pem"
                    if not target.exists():
                        target.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def _known(self, serial: str) -> rsa.RSAPublicKey | None:
        if self._public_key is not None and serial == self._public_key_id:
            return self._public_key
        self._load_dir()
        try:
            wanted = format(int(serial, 16), "X")
        except ValueError:
            return None
        cert = self._certs.get(wanted)
        if cert is None or not self._valid(cert):
            return None
        return _rsa_public(cert.public_key())

    def get(self, serial: str) -> rsa.RSAPublicKey | None:
        """The platform key of `serial`, refreshing the certificates once when unknown."""
        key = self._known(serial)
        if key is not None or serial.startswith("PUB_KEY_ID_"):
            return key
        with self._lock:
            if time.monotonic() - self._last_refresh < REFRESH_INTERVAL_SECONDS:
                return None
            self._last_refresh = time.monotonic()
        self.refresh()
        return self._known(serial)

    def refresh(self) -> None:
        """Download, decrypt, verify and keep the current platform certificates."""
        self.store(self._download())

    def valid_serials(self) -> list[str]:
        """Serials of the certificates in hand and still valid (newest expiry last)."""
        self._load_dir()
        valid = [(c.not_valid_after_utc, s) for s, c in self._certs.items() if self._valid(c)]
        return [s for _, s in sorted(valid)]


class WechatClient:
    """One merchant's signed connection to API v3 (sync httpx; the seam is synchronous,
    an async caller runs it in a worker thread)."""

    def __init__(
        self,
        settings: WechatPaySettings,
        *,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], datetime] = clock.now,
    ):
        missing = [
            name
            for name in ("mchid", "cert_serial_no", "private_key_path", "apiv3_key")
            if not getattr(settings, name)
        ]
        if missing:
            raise ProviderError(
                "WeChat Pay needs "
                + ", ".join(f"TELEMED_PAYMENTS__WECHAT__{m.upper()}" for m in missing),
                code="bad_configuration",
            )
        assert settings.mchid and settings.cert_serial_no and settings.private_key_path
        assert settings.apiv3_key
        self.mchid = settings.mchid
        self._serial = settings.cert_serial_no
        self._key = _load_private_key(settings.private_key_path)
        self.apiv3_key = settings.apiv3_key.encode()
        if len(self.apiv3_key) != 32:
            raise ProviderError("the APIv3 key must be 32 bytes", code="bad_configuration")
        self._now = now
        self._http = httpx.Client(
            base_url=settings.base_url.rstrip("/"),
            timeout=settings.timeout_seconds,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "telemed-wechatpay/1"},
        )
        self.keys = PlatformKeys(settings, self._download_certificates, now)

    def sign(self, message: str) -> str:
        """The merchant key's signature of `message` (JSAPI paySign uses it too)."""
        return rsa_sign(self._key, message)

    def _authorization(self, method: str, url: str, body: str) -> str:
        nonce = secrets.token_hex(16).upper()
        timestamp = str(int(self._now().timestamp()))
        signature = self.sign(f"{method}\n{url}\n{timestamp}\n{nonce}\n{body}\n")
        return (
            f'{AUTH_SCHEMA} mchid="{self.mchid}",nonce_str="{nonce}",'
            f'signature="{signature}",timestamp="{timestamp}",serial_no="{self._serial}"'
        )

    def _send(self, method: str, url: str, body: dict[str, Any] | None) -> httpx.Response:
        text = (
            json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else ""
        )
        split = urlsplit(url)
        signed_url = split.path + (f"?{split.query}" if split.query else "")
        headers = {"Authorization": self._authorization(method, signed_url, text)}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            return self._http.request(
                method, url, content=text.encode() if text else None, headers=headers
            )
        except httpx.HTTPError as exc:
            log.warning("wechat pay %s %s: %s", method, split.path, type(exc).__name__)
            raise ProviderError(
                "WeChat Pay could not be reached", code="unavailable", unavailable=True
            ) from exc

    def check(
        self, headers: Mapping[str, str], body: bytes, key: rsa.RSAPublicKey | None = None
    ) -> None:
        """Refuse an answer or notification whose `Wechatpay-*` headers do not sign `body`
        with a known platform key (or `key`) at a time within 5 minutes of ours."""
        signature, timestamp, nonce, serial = (
            header(headers, f"Wechatpay-{n}") for n in ("Signature", "Timestamp", "Nonce", "Serial")
        )
        if not (signature and timestamp and nonce and serial) or not timestamp.isdigit():
            raise NotificationRejected("Wechatpay-* headers missing", code="malformed")
        key = key or self.keys.get(serial)
        if key is None:
            raise NotificationRejected(f"no platform key {serial}", code="unknown_certificate")
        if not rsa_verify(key, f"{timestamp}\n{nonce}\n".encode() + body + b"\n", signature):
            raise NotificationRejected("the signature does not verify", code="bad_signature")
        if abs(self._now().timestamp() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
            raise NotificationRejected(
                "the timestamp is more than 5 minutes off", code="stale_timestamp"
            )

    def verify(
        self, headers: Mapping[str, str], body: bytes, key: rsa.RSAPublicKey | None = None
    ) -> bool:
        """Whether `check` passes."""
        try:
            self.check(headers, body, key)
        except NotificationRejected:
            return False
        return True

    def request(self, method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """Send a signed request; (status, parsed JSON or None) of a verified 2xx answer.
        An error answer raises ProviderError with code `wechat_<code>` (5xx: unavailable)."""
        response = self._send(method, url, body)
        if response.status_code >= 300:
            raise self._error(response)
        if not self.verify(response.headers, response.content):
            log.warning(
                "wechat pay %s %s: answer signature does not verify", method, urlsplit(url).path
            )
            raise ProviderError(
                "WeChat Pay's answer is not signed by WeChat Pay", code="unverified_response"
            )
        return response.status_code, self._json(response) if response.content else None

    def download(self, url: str) -> bytes:
        """A signed GET of a file (the bill): such answers carry no signature; the caller
        checks the hash the signed bill answer gave. Only from the API's own host (our
        Authorization goes nowhere else)."""
        if not url or urlsplit(url).netloc not in ("", self._http.base_url.netloc.decode()):
            raise ProviderError("the download URL is not WeChat Pay's", code="bad_response")
        response = self._send("GET", url, None)
        if response.status_code >= 300:
            raise self._error(response)
        return response.content

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError(
                "WeChat Pay answered something not JSON", code="bad_response"
            ) from exc

    @staticmethod
    def _error(response: httpx.Response) -> ProviderError:
        try:
            payload = response.json()
            code, message = str(payload.get("code", "")), str(payload.get("message", ""))
        except (ValueError, AttributeError):
            code, message = "", ""
        code = code or f"http_{response.status_code}"
        return ProviderError(
            f"WeChat Pay refused: {code} {message}".strip(),
            code=f"wechat_{code.lower()}",
            unavailable=response.status_code >= 500 or response.status_code == 429,
        )

    def _download_certificates(self) -> dict[str, x509.Certificate]:
        response = self._send("GET", "/v3/certificates", None)
        if response.status_code >= 300:
            raise self._error(response)
        certs: dict[str, x509.Certificate] = {}
        for item in self._json(response).get("data", []):
            sealed = item.get("encrypt_certificate") or {}
            if sealed.get("algorithm") != "AEAD_AES_256_GCM":
                continue
            try:
                pem = aead_decrypt(
                    self.apiv3_key,
                    nonce=sealed["nonce"],
                    associated_data=sealed.get("associated_data", ""),
                    ciphertext=sealed["ciphertext"],
                )
                cert = x509.load_pem_x509_certificate(pem)
            except (InvalidTag, ValueError, KeyError):
                log.warning("wechat pay: a platform certificate did not decrypt with the APIv3 key")
                continue
            serial = format(cert.serial_number, "X")
            if serial != str(item.get("serial_no", "")).upper().lstrip("0"):
                continue
            certs[serial] = cert
        # The answer is signed by one of the certificates it carries: verify with that one.
        serial = (header(response.headers, "Wechatpay-Serial") or "").upper().lstrip("0")
        signer = certs.get(serial)
        if signer is None or not self.verify(
            response.headers, response.content, _rsa_public(signer.public_key())
        ):
            raise ProviderError(
                "the platform certificates' answer does not verify", code="unverified_response"
            )
        return certs
