"""Concurrent transitions resolve to exactly one winner (row lock on the request)."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from telemed.consultations import service
from telemed.consultations.models import Consultation, ConsultationTransition
from telemed.consultations.schemas import AcceptBody
from telemed.core.errors import InvalidTransition
from telemed.core.settings import get_settings
from telemed.identity.models import User
from tests.consultations.committed import committed_request, purge


def test_two_accepting_at_once_one_wins(committed_engine: Engine, clock: Any) -> None:
    cid = committed_request(committed_engine)
    try:
        barrier = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def accept(username: str) -> None:
            with Session(committed_engine, expire_on_commit=False) as s:
                user = s.execute(select(User).where(User.username == username)).scalar_one()
                barrier.wait(timeout=10)
                try:
                    service.accept(
                        session=s,
                        consultation_id=cid,
                        by=user,
                        data=AcceptBody(),
                        now=clock(),
                        settings=get_settings(),
                    )
                    s.commit()
                    outcomes[username] = "won"
                except InvalidTransition as exc:
                    s.rollback()
                    outcomes[username] = f"409:{exc.extra['current_state']}"
                except Exception as exc:  # recorded so the assertion shows it
                    s.rollback()
                    outcomes[username] = repr(exc)

        threads = [
            threading.Thread(target=accept, args=(u,)) for u in ("coordinator", "specialist2")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(outcomes.values()) == ["409:accepted", "won"]
        with Session(committed_engine) as s:
            c = s.get(Consultation, cid)
            assert c is not None and c.state == "accepted"
            accepts = (
                s.execute(
                    select(ConsultationTransition).where(
                        ConsultationTransition.consultation_id == cid,
                        ConsultationTransition.action == "accept",
                    )
                )
                .scalars()
                .all()
            )
            assert len(accepts) == 1
    finally:
        purge(committed_engine, cid)
