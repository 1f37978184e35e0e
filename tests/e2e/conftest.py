"""Browser tests: a real uvicorn serving the built web app on its own seeded PostgreSQL
database, driven by Playwright for Python in Debian's Chromium (no downloaded browser)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import pgtemplate
from tests.support.ports import free_port
from tests.support.uvicorn import serve

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("TELEMED_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_PASSWORD = "telemed-demo"


def _build_frontend() -> Path:
    dist = ROOT / "frontend" / "dist"
    if (ROOT / "frontend" / "package.json").exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "frontend.sh"), "build"], check=True)
    if not (dist / "index.html").exists():
        pytest.fail("frontend/dist/index.html missing: `bash scripts/frontend.sh build` failed")
    return dist


@dataclass
class LiveServer:
    url: str
    database_url: str
    # The server's environment (database, archive, spool), for helper processes such as a
    # DICOM gateway that must share them.
    env: dict[str, str] = field(default_factory=dict)

    def token(self, username: str) -> str:
        r = httpx.post(
            f"{self.url}/api/v1/auth/token",
            data={"username": username, "password": DEMO_PASSWORD},
            timeout=30,  # argon2 on a loaded machine
        )
        r.raise_for_status()
        return str(r.json()["access_token"])

    def paths(self) -> set[str]:
        """The API's paths, from its OpenAPI document (built on the first request: seconds on
        a loaded machine, hence the timeout)."""
        r = httpx.get(f"{self.url}/openapi.json", timeout=60)
        r.raise_for_status()
        return set(r.json()["paths"])

    def api(self, username: str) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {self.token(username)}"},
            timeout=30,
        )

    @contextmanager
    def language_restored(self, username: str) -> Iterator[None]:
        """For a story that switches `username`'s language: the choice is kept on the account,
        which the other stories share, so it is set back to Chinese afterwards."""
        try:
            yield
        finally:
            with self.api(username) as me:
                r = me.put("/auth/me/language", json={"language": "zh-CN"})
                assert r.status_code == 200, r.text


@pytest.fixture(scope="session")
def live_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """uvicorn on a free port, on a database of its own (a copy of the seeded template),
    so what the browser commits never leaks into the rolled-back tests."""
    dist = _build_frontend()
    dbname = f"telemed_e2e_{uuid.uuid4().hex[:8]}"
    # the browser stories start from the accounts alone, without the demo month of activity:
    # a copy of the run's migrated, demo-seeded template
    db_url = pgtemplate.create_database(dbname)
    base_env = {
        **os.environ,
        "TELEMED_DATABASE_URL": db_url,
        "TELEMED_SECRET_KEY": os.environ["TELEMED_SECRET_KEY"],
        "TELEMED_FRONTEND_DIR": str(dist),
        "TELEMED_LOG_LEVEL": "WARNING",
        # Images go to a throwaway local archive; no DICOM gateway on a fixed port.
        "TELEMED_DICOM__ARCHIVE_DIR": str(tmp_path_factory.mktemp("archive")),
        "TELEMED_DICOM__SPOOL_DIR": str(tmp_path_factory.mktemp("spool")),
        "TELEMED_DICOM__GATEWAY_ENABLED": "false",
        "TELEMED_DICOM_PORT": str(free_port()),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with (
            (ARTIFACTS / "server.log").open("w") as log,
            serve({**base_env, "TELEMED_ENV": "test"}, log) as url,
        ):
            yield LiveServer(url=url, database_url=db_url, env=dict(base_env))
    finally:
        pgtemplate.drop_database(dbname)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Any]:
    """One Playwright driver for the browser tests (a second sync instance cannot start
    beside it). Package scope: the driver's event loop must be gone before tests of other
    packages call asyncio.run()."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright: Any) -> Iterator[Any]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="package")
def media_browser(playwright: Any) -> Iterator[Any]:
    """Chromium with a fake camera and microphone that never asks for permission."""
    b = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            # Real host addresses in ICE candidates: no mDNS resolver runs here.
            "--disable-features=WebRtcHideLocalIpsWithMdns",
        ],
    )
    yield b
    b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's outcome on the test item (for screenshots of failures)."""
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


# Counts the page's fetches in flight, except the live event stream (held open for as long
# as the page is: a page with it never goes "networkidle"). `wait_idle` reads the count.
PENDING_FETCHES_JS = """
(() => {
  let pending = 0
  const original = window.fetch.bind(window)
  Object.defineProperty(window, '__pendingFetches', { get: () => pending })
  window.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : (input && input.url) || String(input)
    if (url.includes('/api/v1/events')) return original(input, init)
    pending += 1
    return original(input, init).finally(() => { pending -= 1 })
  }
})()
"""


def wait_idle(page: Any, *, quiet_ms: int = 500, timeout_ms: int = 15_000) -> None:
    """Wait until no fetch of the page (but its live event stream) has been in flight for
    `quiet_ms`: Playwright's "networkidle" for pages that keep a stream open."""
    waited = quiet = 0
    while quiet < quiet_ms:
        if waited >= timeout_ms:
            raise TimeoutError(f"fetches still in flight after {timeout_ms} ms")
        busy = page.evaluate("() => window.__pendingFetches || 0")
        quiet = 0 if busy else quiet + 100
        page.wait_for_timeout(100)
        waited += 100


@pytest.fixture
def new_page(
    browser: Any, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """Open pages in fresh browser contexts (own storage); console errors fail the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def _open(*, phone: bool = False, locale: str = "zh-CN", **ctx: Any) -> Any:
        viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 860}
        context = browser.new_context(
            viewport=viewport, locale=locale, base_url=live_server.url, **ctx
        )
        context.set_default_timeout(15_000)
        context.add_init_script(PENDING_FETCHES_JS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        return page

    yield _open
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for i, c in enumerate(contexts):
            for j, p in enumerate(c.pages):
                name = f"FAILED-{request.node.name}-{i}-{j}".replace("/", "_")
                shot(p, name[:120])
    for c in contexts:
        c.close()
    assert not errors, errors


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page: Any, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the form and wait for the shell."""
    page.goto("/#/login")
    page.get_by_test_id("login-form").wait_for()
    page.locator("#login-username").fill(username)
    page.locator("#login-password").fill(password)
    page.locator("#login-password").press("Enter")
    page.get_by_test_id("who").wait_for(state="attached")
