"""The app as served in the scheduling benchmarks, plus the baseline route.

`POST /bench/plain-insert`: authenticates like every route, then performs one plain
INSERT through the same request session and commits it in the handler's thread, as the
booking route does (the floor our booking endpoint is compared to).
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import text

from telemed.app import create_app
from telemed.core.deps import SessionDep
from telemed.identity.deps import CurrentUser


def make_app() -> FastAPI:
    app = create_app()

    @app.post("/bench/plain-insert", status_code=201)
    def plain_insert(session: SessionDep, user: CurrentUser) -> dict[str, str]:
        session.execute(text("INSERT INTO bench_plain (user_id) VALUES (:u)"), {"u": str(user.id)})
        session.commit()  # in the handler's thread, as the booking route does
        return {"ok": "1"}

    # create_app mounts the built frontend at "/", which would answer first (405): put the
    # baseline route ahead of that catch-all mount.
    routes = app.router.routes
    routes.insert(0, routes.pop())
    return app
