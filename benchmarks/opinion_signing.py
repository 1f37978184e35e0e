"""Opinion signing and verification throughput (Ed25519 over canonical JSON).

    python benchmarks/opinion_signing.py [N]

Prints opinions signed per second (key unwrapping + canonical JSON + Ed25519 sign) and
verified per second (canonical JSON recomputed + Ed25519 verify), each against a baseline
measured in the same run: canonical JSON + SHA-256 of the same content (what any integrity
check costs without a signature).
"""

from __future__ import annotations

import hashlib
import sys
import time
import uuid
from datetime import UTC, datetime

from telemed.consultations import signing
from telemed.consultations.models import Opinion


def _opinions(n: int, author: uuid.UUID, key_id: str) -> list[Opinion]:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return [
        Opinion(
            consultation_id=uuid.uuid4(),
            version=1,
            author_id=author,
            findings="右肺上叶尖段见一约8mm磨玻璃密度结节，边界清，未见分叶及毛刺。" * 4,
            impression="右肺上叶磨玻璃结节，良性可能性大",
            icd10=["R91", "J18.9"],
            recommendations="建议3个月后复查低剂量胸部CT；戒烟。",
            referral_advice={"refer": False},
            created_at=now,
            updated_at=now,
            key_id=key_id,
        )
        for _ in range(n)
    ]


def _rate(n: int, fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    secret = "benchmark-secret"
    author = uuid.uuid4()
    key = signing.new_key(user_id=author, secret=secret, now=datetime.now(UTC))
    ops = _opinions(n, author, key.id)
    patient = uuid.uuid4()
    at = datetime(2026, 12, 1, 8, tzinfo=UTC)

    def canonical(op: Opinion) -> str:
        return signing.canonical_json(signing.signed_content(op, patient_id=patient, signed_at=at))

    baseline = _rate(n, lambda: [hashlib.sha256(canonical(o).encode()).hexdigest() for o in ops])
    sigs: list[str] = []
    sign_rate = _rate(
        n, lambda: sigs.extend(signing.sign(key, canonical(o), secret=secret) for o in ops)
    )
    verify_rate = _rate(
        n,
        lambda: [
            signing.verify(key.public_key, canonical(o), s) for o, s in zip(ops, sigs, strict=True)
        ],
    )
    print(f"opinions: {n}")
    print(f"baseline canonical JSON + SHA-256: {baseline:,.0f}/s")
    for label, rate in (
        ("sign   (unwrap key + canonical + Ed25519)", sign_rate),
        ("verify (canonical + Ed25519 verify)      ", verify_rate),
    ):
        print(f"{label}: {rate:,.0f}/s  ({rate / baseline:.2f}x baseline)")


if __name__ == "__main__":
    main()
