"""Security headers on every HTTP response: the web app, the API, DICOMweb, FHIR, errors.

The Content-Security-Policy allows scripts and styles from the app's own origin only
(the Vite build has no inline script) plus `'wasm-unsafe-eval'` (compiling WebAssembly only:
the viewer's DICOM image loader decodes JPEG-LS, JPEG 2000, HTJ2K and JPEG in WASM codecs; no
`eval` of JavaScript is allowed), same-origin web workers (the loader's decoders), WebSocket
signaling to the same host (and the origin of Janus's API when browsers reach it on an
origin of its own, `TELEMED_VIDEO__JANUS_PUBLIC_URL`), and blob:/data: images. Responses of the
data routes (`/api/`, `/dicom-web/`, `/fhir/`) carry `Cache-Control: no-store` unless
the route set its own. HSTS goes out when the request came over TLS (directly, or
`X-Forwarded-Proto: https` from the proxy) or when the deployment says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeadersMiddleware", "security_headers"]

DATA_PREFIXES = ("/api/", "/dicom-web/", "/fhir/")
# Swagger UI and ReDoc load from a CDN and run an inline bootstrap script.
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
_DOCS_CDN = "https://cdn.jsdelivr.net"


def _csp(host: str | None, path: str, connect: tuple[str, ...] = ()) -> str:
    if path in DOCS_PATHS:
        return (
            f"default-src 'self'; script-src 'self' 'unsafe-inline' {_DOCS_CDN}; "
            f"style-src 'self' 'unsafe-inline' {_DOCS_CDN}; img-src 'self' data: "
            "https://fastapi.tiangolo.com; frame-ancestors 'none'; object-src 'none'"
        )
    ws = f" ws://{host} wss://{host}" if host else ""
    ws += "".join(f" {origin}" for origin in connect)
    return (
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self' data:; "
        f"connect-src 'self'{ws}; worker-src 'self' blob:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def _host(headers: Headers) -> str | None:
    host = headers.get("host", "")
    # A Host header is the client's own; keep only what a host[:port] may contain.
    if host and all(c.isalnum() or c in ".-:[]" for c in host) and len(host) <= 255:
        return host
    return None


def security_headers(
    scope: Scope, *, hsts: bool, hsts_max_age: int, connect_src: tuple[str, ...] = ()
) -> dict[str, str]:
    """The headers every response to this request carries (before any the route set).
    `connect_src`: origins the page may also fetch from (Janus's API on its own origin)."""
    headers = Headers(scope=scope)
    path: str = scope.get("path", "")
    out = {
        "Content-Security-Policy": _csp(_host(headers), path, connect_src),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(self), microphone=(self), geolocation=(), payment=()",
    }
    tls = scope.get("scheme") in ("https", "wss") or (
        headers.get("x-forwarded-proto", "").split(",")[0].strip().lower() == "https"
    )
    if hsts or tls:
        out["Strict-Transport-Security"] = f"max-age={hsts_max_age}; includeSubDomains"
    if path.startswith(DATA_PREFIXES):
        out["Cache-Control"] = "no-store"
    return out


def _merge(target: MutableHeaders, extra: Iterable[tuple[str, str]]) -> None:
    for name, value in extra:
        if name.lower() not in target:
            target[name] = value


class SecurityHeadersMiddleware:
    """Pure ASGI middleware (streams pass through untouched): adds `security_headers`
    to every HTTP response without overriding a header the route set itself."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        hsts: bool = False,
        hsts_max_age: int = 31536000,
        connect_src: tuple[str, ...] = (),
    ):
        self.app = app
        self.hsts = hsts
        self.hsts_max_age = hsts_max_age
        self.connect_src = connect_src

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(
            scope, hsts=self.hsts, hsts_max_age=self.hsts_max_age, connect_src=self.connect_src
        )

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                _merge(MutableHeaders(scope=message), extra.items())
            await send(message)

        await self.app(scope, receive, _send)
