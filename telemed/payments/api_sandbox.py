"""The sandbox provider's payer page (development and test only; 404 in production):
`GET /api/v1/payments/sandbox/pay/{order_no}` shows the amount with 确认支付 and 取消;
confirming has the sandbox sign the notification and post it to our notify endpoint
(as a provider would), then sends the payer back to the order's return URL."""

from __future__ import annotations

import html
import logging
from urllib.parse import urlsplit, urlunsplit

import httpx
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from telemed.core.deps import SettingsDep
from telemed.core.errors import NotFound
from telemed.core.settings import Settings
from telemed.payments import providers
from telemed.payments.api import router
from telemed.payments.provider import ProviderError
from telemed.payments.sandbox import SandboxProvider

log = logging.getLogger(__name__)
_PATH = "/payments/sandbox/pay/{order_no}"


def _sandbox(settings: Settings) -> SandboxProvider:
    if settings.env == "production":
        raise NotFound("no such page")
    provider = providers.get("sandbox", settings)
    if not isinstance(provider, SandboxProvider):
        raise NotFound("no such page")
    return provider


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title></head><body><main>{body}</main></body></html>"
    )


@router.get(_PATH, response_class=HTMLResponse, include_in_schema=False)
def sandbox_page(order_no: str, settings: SettingsDep) -> HTMLResponse:
    """The payer's page: what is paid, and the two buttons."""
    request = _sandbox(settings).request_of(order_no)
    if request is None:
        return _page("沙箱支付", "<h1>沙箱支付 Sandbox</h1><p>没有这笔待付款 (no such payment)</p>")
    esc = html.escape
    amount = f"{request.amount_cents / 100:.2f}"
    return _page(
        "沙箱支付",
        "<h1>沙箱支付 Sandbox payment</h1>"
        "<p>开发环境模拟支付，不会真实扣款 (development only, nothing is charged)</p>"
        f"<p id='description'>{esc(request.description)}</p>"
        f"<p>订单号 <span id='order-no'>{esc(order_no)}</span></p>"
        f"<p>金额 ¥<strong id='amount'>{amount}</strong></p>"
        f"<form method='post' action='/api/v1/payments/sandbox/pay/{esc(order_no)}/confirm'>"
        "<button type='submit' id='confirm'>确认支付</button></form>"
        f"<form method='post' action='/api/v1/payments/sandbox/pay/{esc(order_no)}/cancel'>"
        "<button type='submit' id='cancel'>取消</button></form>",
    )


def _back(return_url: str | None) -> RedirectResponse:
    """Back to the return URL's path on this same server (the page is ours)."""
    if not return_url:
        return RedirectResponse("/", status_code=303)
    parts = urlsplit(return_url)
    path = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    return RedirectResponse(path, status_code=303)


@router.post(_PATH + "/confirm", include_in_schema=False)
def sandbox_confirm(order_no: str, request: Request, settings: SettingsDep) -> RedirectResponse:
    """Pay: the sandbox signs the notification and posts it to our notify endpoint."""
    sandbox = _sandbox(settings)
    order = sandbox.request_of(order_no)
    if order is None:
        raise NotFound(f"no sandbox payment for {order_no}")
    try:
        headers, body = sandbox.confirm(order_no)
    except ProviderError as exc:
        return _page("沙箱支付", f"<p id='error'>{html.escape(exc.code)}</p>")  # type: ignore[return-value]
    url = f"{str(request.base_url).rstrip('/')}/api/v1/payments/notify/sandbox"
    try:
        httpx.post(
            url, content=body, headers={**headers, "Content-Type": "application/json"}, timeout=10
        )
    except httpx.HTTPError as exc:  # the payer's return queries the sandbox instead
        log.warning("sandbox notification for %s not delivered: %s", order_no, type(exc).__name__)
    return _back(order.return_url)


@router.post(_PATH + "/cancel", include_in_schema=False)
def sandbox_cancel(order_no: str, settings: SettingsDep) -> RedirectResponse:
    """The payer gave up: back to where they came from; the order stays payable."""
    order = _sandbox(settings).request_of(order_no)
    return _back(order.return_url if order else None)
