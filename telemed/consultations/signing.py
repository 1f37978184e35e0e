"""Opinion signatures: Ed25519 over a canonical JSON form, keys per specialist.

Private keys are stored encrypted (AES-256-GCM) under a key derived with HKDF from
`TELEMED_SECRET_KEY`; public keys are published. The key id is the first 32 hex
digits of the SHA-256 of the raw public key, the fingerprint all 64.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlmodel import Session, select

from telemed.consultations.models import Opinion, SpecialistKey

ALGORITHM = "Ed25519"
_INFO = b"telemed consultations: specialist signing keys v1"


def _wrapping_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()


def active_key(*, session: Session, user_id: uuid.UUID) -> SpecialistKey | None:
    return session.execute(
        select(SpecialistKey).where(
            SpecialistKey.user_id == user_id,
            SpecialistKey.revoked_at.is_(None),  # type: ignore[union-attr]
        )
    ).scalar_one_or_none()


def new_key(*, user_id: uuid.UUID, secret: str, now: datetime) -> SpecialistKey:
    """A fresh Ed25519 key for `user_id`, the private half sealed with the derived key."""
    private = Ed25519PrivateKey.generate()
    raw_pub = _raw_public(private.public_key())
    raw_priv = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    nonce = os.urandom(12)
    sealed = AESGCM(_wrapping_key(secret)).encrypt(nonce, raw_priv, user_id.bytes)
    fp = fingerprint(raw_pub)
    return SpecialistKey(
        id=fp[:32],
        user_id=user_id,
        public_key=base64.b64encode(raw_pub).decode(),
        private_key_encrypted=base64.b64encode(nonce + sealed).decode(),
        fingerprint=fp,
        created_at=now,
    )


def ensure_key(
    *, session: Session, user_id: uuid.UUID, secret: str, now: datetime
) -> SpecialistKey:
    """The user's active signing key, generated on first use."""
    key = active_key(session=session, user_id=user_id)
    if key is not None:
        return key
    key = new_key(user_id=user_id, secret=secret, now=now)
    session.add(key)
    session.flush()
    return key


def _private(key: SpecialistKey, secret: str) -> Ed25519PrivateKey:
    blob = base64.b64decode(key.private_key_encrypted)
    raw = AESGCM(_wrapping_key(secret)).decrypt(blob[:12], blob[12:], key.user_id.bytes)
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_pem(key: SpecialistKey) -> str:
    pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key))
    return pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def signed_content(
    opinion: Opinion, *, patient_id: uuid.UUID, signed_at: datetime
) -> dict[str, Any]:
    """The fields a signature covers (`annotations` and `ecg_measurements` only when the
    opinion has them: opinions signed before those fields existed keep their canonical form)."""
    content = {
        "consultation_id": str(opinion.consultation_id),
        "patient_id": str(patient_id),
        "version": opinion.version,
        "author_id": str(opinion.author_id),
        "findings": opinion.findings,
        "impression": opinion.impression,
        "icd10": list(opinion.icd10),
        "recommendations": opinion.recommendations,
        "referral_advice": dict(opinion.referral_advice),
        "supersedes_id": str(opinion.supersedes_id) if opinion.supersedes_id else None,
        "correction_reason": opinion.correction_reason,
        "signed_at": signed_at.isoformat().replace("+00:00", "Z"),
        "key_id": opinion.key_id,
        "algorithm": ALGORITHM,
    }
    if opinion.annotations:
        content["annotations"] = list(opinion.annotations)
    if opinion.ecg_measurements is not None:
        content["ecg_measurements"] = dict(opinion.ecg_measurements)
    return content


def canonical_json(content: dict[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 kept as is: one byte string per content."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign(key: SpecialistKey, canonical: str, *, secret: str) -> str:
    """Base64 Ed25519 signature of the canonical form."""
    return base64.b64encode(_private(key, secret).sign(canonical.encode())).decode()


def verify(public_key_b64: str, canonical: str, signature_b64: str) -> bool:
    """True when the signature matches the canonical form under the public key."""
    try:
        pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        pub.verify(base64.b64decode(signature_b64), canonical.encode())
    except (InvalidSignature, ValueError):
        return False
    return True
