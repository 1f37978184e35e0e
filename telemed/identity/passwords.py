"""Password policy of a public service: long enough, not common, not the user's own names.

Strength is estimated by zxcvbn (Dropbox's estimator, the Python port): it knows the
common-password lists, dictionary words, keyboard walks, dates and repeats, and is
told the username and full name so that derivations of them score low.
"""

from __future__ import annotations

import re

from zxcvbn import zxcvbn

from telemed.core.errors import Invalid
from telemed.core.settings import SecuritySettings

MAX_LENGTH = 128
_ZXCVBN_MAX = 72  # the estimator's own limit; a longer password is at least as strong


class WeakPassword(Invalid):
    """422: the password breaks the policy; `code` says which rule."""

    def __init__(self, detail: str, *, code: str, field: str = "password") -> None:
        super().__init__(detail, field=field, code=code)


def _personal_parts(*names: str | None) -> list[str]:
    parts: list[str] = []
    for name in names:
        if not name:
            continue
        parts.append(name.lower())
        parts += [p for p in re.split(r"[\s_.\-@]+", name.lower()) if len(p) >= 3]
    return parts


def check_password(
    password: str,
    *,
    username: str,
    full_name: str | None,
    sec: SecuritySettings,
    field: str = "password",
) -> None:
    """Raise `WeakPassword` unless `password` meets the policy for this user."""
    if len(password) < sec.password_min_length:
        raise WeakPassword(
            f"the password needs at least {sec.password_min_length} characters",
            code="password_too_short",
            field=field,
        )
    if len(password) > MAX_LENGTH:
        raise WeakPassword(
            f"the password may have at most {MAX_LENGTH} characters",
            code="password_too_long",
            field=field,
        )
    parts = _personal_parts(username, full_name)
    # Take every name part out (longest first); if little is left, the password is a
    # derivation of the names (`wangfang2025`, `Fang-Wang-1990`).
    rest = re.sub(r"[^0-9a-z]", "", password.lower())
    found = False
    for part in sorted({re.sub(r"[^0-9a-z]", "", p) for p in parts}, key=len, reverse=True):
        if len(part) >= 3 and part in rest:
            rest, found = rest.replace(part, ""), True
    if found and len(set(rest)) < 6:
        raise WeakPassword(
            "the password is derived from the username or name",
            code="password_personal",
            field=field,
        )
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=parts)
    if result["score"] < sec.password_min_score:
        warning = result["feedback"].get("warning") or "it is too easy to guess"
        raise WeakPassword(
            f"the password is too common or too easy to guess ({warning})",
            code="password_too_weak",
            field=field,
        )
