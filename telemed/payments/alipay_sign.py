"""Alipay's RSA2 signatures (SHA256withRSA, PKCS#1 v1.5, base64), the strings they cover,
amounts in yuan, and the development key set (docs/payments.md, "Alipay").

Alipay signs and verifies one string per message:
- a request: every parameter except `sign` (and except empty values), sorted by name,
  joined as `k=v&k=v` with the values as they are (not URL-encoded);
- an asynchronous notification or the return to `return_url`: the same, without `sign`
  *and* `sign_type`;
- a gateway response: the exact JSON text of the `<method>_response` value as it stands in
  the body (`response_content`), which is why the body is never re-serialized before.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "DevKeys",
    "SignatureError",
    "cents_from_yuan",
    "create_dev_keys",
    "load_private_key",
    "load_public_key",
    "response_content",
    "sign",
    "signing_string",
    "verify",
    "yuan",
]


class SignatureError(Exception):
    """A message whose signature is missing, malformed or does not verify."""


def signing_string(params: Mapping[str, str], *, exclude: Iterable[str] = ("sign",)) -> str:
    """The sorted `k=v&…` string Alipay signs (empty values and `exclude` left out)."""
    left_out = set(exclude)
    return "&".join(
        f"{k}={params[k]}" for k in sorted(params) if k not in left_out and params[k] != ""
    )


def sign(content: str, key: rsa.RSAPrivateKey) -> str:
    """The base64 SHA256withRSA signature of `content` (UTF-8)."""
    raw = key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode("ascii")


def verify(content: str, signature: str, key: rsa.RSAPublicKey) -> None:
    """Check a base64 SHA256withRSA signature over `content`, or raise SignatureError."""
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError("the signature does not verify") from exc


def response_content(body: str, key: str) -> str:
    """The exact JSON text of `body`'s top-level member `key` (what Alipay signed)."""
    decoder = json.JSONDecoder()
    marker = f'"{key}"'
    at = body.find(marker)
    if at < 0:
        raise SignatureError(f"the response has no {key}")
    start = body.index(":", at + len(marker)) + 1
    while body[start] in " \t\r\n":
        start += 1
    _, end = decoder.raw_decode(body, start)
    return body[start:end]


def yuan(cents: int) -> str:
    """Fen as Alipay's amount in yuan with two decimals ("12.50")."""
    return f"{cents // 100}.{cents % 100:02d}"


def cents_from_yuan(value: str) -> int:
    """Alipay's yuan amount ("12.5", "12.50", "-3.00") as integer fen."""
    try:
        amount = Decimal(value.strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"more than two decimals: {value!r}")
    return int(cents)


def load_private_key(path: str | Path) -> rsa.RSAPrivateKey:
    """An RSA private key from a PEM file (PKCS#8 or PKCS#1)."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return key


def load_public_key(path: str | Path) -> rsa.RSAPublicKey:
    """An RSA public key from a PEM file (SubjectPublicKeyInfo)."""
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"{path} does not hold an RSA public key")
    return key


@dataclass(frozen=True)
class DevKeys:
    """A development key set: the app's pair (we sign, the fake verifies) and the fake
    Alipay's pair (it signs, we verify). Never for production."""

    directory: Path
    app_id: str
    app_private_key: Path  # app_private_key.pem
    app_public_key: Path  # app_public_key.pem
    alipay_private_key: Path  # alipay_private_key.pem
    alipay_public_key: Path  # alipay_public_key.pem


DEV_APP_ID = "2021000000000001"


def create_dev_keys(directory: str | Path, *, app_id: str = DEV_APP_ID) -> DevKeys:
    """Write (once) two fresh 2048-bit RSA pairs into `directory`; existing keys are kept."""
    at = Path(directory)
    names = ("app_private_key", "app_public_key", "alipay_private_key", "alipay_public_key")
    keys = DevKeys(at, app_id, *(at / f"{name}.pem" for name in names))
    keys.directory.mkdir(parents=True, exist_ok=True)
    pairs = [(keys.app_private_key, keys.app_public_key)]
    pairs.append((keys.alipay_private_key, keys.alipay_public_key))
    for private_path, public_path in pairs:
        if private_path.exists() and public_path.exists():
            continue
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_path.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        private_path.chmod(0o600)
        public_path.write_bytes(
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return keys
