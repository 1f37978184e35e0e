"""Helpers of the viewer's Chromium tests: store a compressed phantom series by STOW-RS, read
a Cornerstone3D pane's pixels, poll the page (the app's CSP blocks string predicates)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import LiveServer
from tests.support.ct_phantom import phantom_datasets
from tests.support.dicom_files import stow as stow_request

# The pixels of the first canvas inside an element, copied into a 2D canvas (a WebGL canvas
# cannot be read with getImageData): lit pixels, sum and number of grey levels.
PANE_STATS = """(sel) => {
  const src = document.querySelector(sel + ' canvas')
  if (!src || !src.width) return null
  const c = document.createElement('canvas')
  c.width = src.width; c.height = src.height
  const g = c.getContext('2d')
  g.drawImage(src, 0, 0)
  const d = g.getImageData(0, 0, c.width, c.height).data
  let lit = 0, sum = 0
  const greys = new Set()
  for (let i = 0; i < d.length; i += 4) { if (d[i] > 8) lit++; sum += d[i]; greys.add(d[i]) }
  return { lit, sum, greys: greys.size, pixels: d.length / 4, width: src.width, height: src.height,
           cssWidth: src.clientWidth }
}"""


def stow_to(base: str, token: str, datasets: list[Any], timeout: float = 120) -> str:
    """Store datasets by STOW-RS at `base` with a bearer token; the study's UID."""
    r = stow_request(base, token, datasets, timeout=timeout)
    assert r.status_code in (200, 202), r.text
    return str(datasets[0].StudyInstanceUID)


def stow(live_server: LiveServer, username: str, datasets: list[Any]) -> str:
    return stow_to(live_server.url, live_server.token(username), datasets)


def phantom_study(
    live_server: LiveServer, username: str, syntax: str, count: int = 20, size: int = 128, **kw: Any
) -> str:
    return stow(live_server, username, list(phantom_datasets(count, size, syntax, **kw)))


def poll(page: Any, check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Call `check` until it returns something truthy (page time, not wall-clock speed)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        page.wait_for_timeout(100)
    raise AssertionError(f"{what}: last seen {last!r}")


def pane_stats(page: Any, sel: str = "[data-testid=viewer-element]") -> dict[str, Any] | None:
    return page.evaluate(PANE_STATS, sel)  # type: ignore[no-any-return]


def wait_image(page: Any, sel: str = "[data-testid=viewer-element]") -> dict[str, Any]:
    """The pane shows an image: a fifth of its pixels lit, many grey levels."""

    def shown() -> dict[str, Any] | None:
        s = pane_stats(page, sel)
        return s if s and s["lit"] > s["pixels"] * 0.1 and s["greys"] > 16 else None

    return poll(page, shown, f"an image in {sel}")  # type: ignore[no-any-return]


def wait_changed(
    page: Any, before: int, sel: str = "[data-testid=viewer-element]"
) -> dict[str, Any]:
    def changed() -> dict[str, Any] | None:
        s = pane_stats(page, sel)
        return s if s and s["sum"] != before else None

    return poll(page, changed, f"the picture in {sel} changes")  # type: ignore[no-any-return]
