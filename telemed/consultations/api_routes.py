"""Routes declared beside their handlers, in the feature modules of the API (`api_*.py`), and
mounted on the one consultations router of `api.py`.

Why not `include_router`: FastAPI keeps an included router nested, its routes' paths
without the outer prefix; mounting keeps every route a plain route of `api.router`, as if
declared there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter

Handler = TypeVar("Handler", bound=Callable[..., Any])


class Routes:
    """A list of routes (`@routes.get(path, ...)` as on a router), added to a router later."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, str, Callable[..., Any], dict[str, Any]]] = []

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Declare a GET route (options as for `APIRouter.get`)."""
        return self._declare("GET", path, options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Declare a POST route."""
        return self._declare("POST", path, options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Declare a PUT route."""
        return self._declare("PUT", path, options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Declare a PATCH route."""
        return self._declare("PATCH", path, options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Declare a DELETE route."""
        return self._declare("DELETE", path, options)

    def _declare(
        self, method: str, path: str, options: dict[str, Any]
    ) -> Callable[[Handler], Handler]:
        def declare(handler: Handler) -> Handler:
            self._routes.append((method, path, handler, options))
            return handler

        return declare

    def mount(self, router: APIRouter) -> None:
        """Add every route, in the order declared, to `router`."""
        for method, path, handler, options in self._routes:
            router.add_api_route(path, handler, methods=[method], **options)
