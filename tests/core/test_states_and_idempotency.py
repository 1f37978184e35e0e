from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from telemed.core import idempotency
from telemed.core.errors import Conflict, InvalidTransition
from telemed.core.states import StateMachine

M = StateMachine("thing", {"go": ({"new"}, "going"), "stop": ({"new", "going"}, "stopped")})


def test_state_machine_allows_and_refuses() -> None:
    assert M.next("new", "go") == "going"
    assert M.allowed("going") == ["stop"]
    with pytest.raises(InvalidTransition) as exc:
        M.next("stopped", "go")
    assert exc.value.status == 409 and exc.value.extra["current_state"] == "stopped"


def test_idempotency_returns_the_first_outcome(session: Session) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    key = idempotency.scoped_key(scope="t", user_id=uuid.uuid4(), key="k1")
    assert idempotency.claim(session=session, key=key, payload={"a": 1}, now=now) is None
    idempotency.store(session=session, key=key, status_code=201, response={"id": "x"})
    again = idempotency.claim(session=session, key=key, payload={"a": 1}, now=now)
    assert again is not None and again.response == {"id": "x"} and again.status_code == 201
    with pytest.raises(Conflict, match="different request"):
        idempotency.claim(session=session, key=key, payload={"a": 2}, now=now)
