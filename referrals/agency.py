"""The medical insurance agency's interface (国家医疗保障信息平台, 定点医药机构接口) as far as
cross-region filing needs it: the common envelope, the gateway's request signature and one
HTTP call with timeouts and retries. What each field means and where the shape comes from:
docs/referrals.md, "Cross-region filing".

Request: POST of the envelope as JSON (`envelope`), with the gateway's headers
`x-tif-paasid`, `x-tif-timestamp` (Unix seconds), `x-tif-nonce` and `x-tif-signature` =
hex SHA-256 of timestamp + paasToken + nonce + timestamp (`signed_headers`).
Answer: `{"infcode": 0 | -1, "inf_refmsgid", "refmsg_time", "respond_time", "err_msg",
"output": {...}}`; `infcode` 0 is success, anything else a refusal with `err_msg`.

Exceptions:
    AgencyUnavailable   no answer to act on (timeout, connection, HTTP error, credentials
                        refused, unreadable body): try again later; the filing is unchanged
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from telemed.core.clock import to_shanghai
from telemed.core.settings import FilingAgencySettings

__all__ = [
    "REVOKE_FILING",
    "TRANSFER_FILING",
    "AgencyAnswer",
    "AgencyClient",
    "AgencyUnavailable",
    "envelope",
    "gateway_signature",
    "new_msgid",
    "signed_headers",
]

TRANSFER_FILING = "2501"  # 转院备案
REVOKE_FILING = "2502"  # 转院备案撤销

log = logging.getLogger("telemed.referrals.agency")
_sequence = itertools.count(1)


class AgencyUnavailable(Exception):
    """The agency gave no answer to act on; the request may be sent again."""


@dataclass(frozen=True)
class AgencyAnswer:
    """The agency's reply: `infcode` 0 = done; `raw` is the body as received."""

    infcode: int
    err_msg: str
    output: dict[str, Any]
    inf_refmsgid: str | None
    raw: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.infcode == 0


def gateway_signature(timestamp: str, token: str, nonce: str) -> str:
    """The gateway's x-tif-signature: hex SHA-256 of timestamp + token + nonce + timestamp."""
    return hashlib.sha256(f"{timestamp}{token}{nonce}{timestamp}".encode()).hexdigest()


def signed_headers(paasid: str, token: str, *, at: float | None = None) -> dict[str, str]:
    """The gateway's four headers for one request (a fresh nonce each time)."""
    timestamp = str(int(time.time() if at is None else at))
    nonce = secrets.token_hex(8)
    return {
        "x-tif-paasid": paasid,
        "x-tif-timestamp": timestamp,
        "x-tif-nonce": nonce,
        "x-tif-signature": gateway_signature(timestamp, token, nonce),
    }


def new_msgid(fixmedins_code: str, now: datetime) -> str:
    """发送方报文ID: institution code (12) + yyyyMMddHHmmss + a 4-digit sequence."""
    seq = next(_sequence) % 10000
    return f"{fixmedins_code[:12]:0<12}{to_shanghai(now):%Y%m%d%H%M%S}{seq:04d}"


def envelope(
    *,
    infno: str,
    msgid: str,
    insuplc_admdvs: str,
    opter: str,
    opter_name: str,
    now: datetime,
    data: dict[str, Any],
    settings: FilingAgencySettings,
) -> dict[str, Any]:
    """The common request envelope around a transaction's `input`."""
    return {
        "infno": infno,
        "msgid": msgid,
        "mdtrtarea_admvs": settings.mdtrtarea_admvs,
        "insuplc_admdvs": insuplc_admdvs,
        "recer_sys_code": settings.recer_sys_code,
        "dev_no": "",
        "dev_safe_info": "",
        "cainfo": "",
        "signtype": "",
        "infver": settings.infver,
        "opter_type": "1",  # 经办人
        "opter": opter[:30],
        "opter_name": opter_name[:50],
        "inf_time": f"{to_shanghai(now):%Y-%m-%d %H:%M:%S}",
        "fixmedins_code": settings.fixmedins_code or "",
        "fixmedins_name": settings.fixmedins_name,
        "sign_no": "",
        "input": data,
    }


class AgencyClient:
    """Sends envelopes to the configured endpoint; `transport` is for tests only."""

    def __init__(
        self,
        settings: FilingAgencySettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (settings.url and settings.paasid and settings.token):
            raise ValueError("the filing agency needs url, paasid and token")
        self._settings = settings
        self._transport = transport
        self._sleep = sleep

    def call(self, body: dict[str, Any]) -> AgencyAnswer:
        """POST one envelope; connection errors are tried again (`tries`, 0.5 s doubling),
        anything else without a readable answer raises AgencyUnavailable at once."""
        s = self._settings
        assert s.url and s.paasid and s.token
        payload = json.dumps(body, ensure_ascii=False).encode()
        last: Exception | None = None
        for attempt in range(s.tries):
            if attempt:
                self._sleep(0.5 * 2 ** (attempt - 1))
            headers = {
                "Content-Type": "application/json;charset=utf-8",
                **signed_headers(s.paasid, s.token),
            }
            try:
                with httpx.Client(timeout=s.timeout_seconds, transport=self._transport) as http:
                    response = http.post(s.url, content=payload, headers=headers)
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                last = exc
                continue
            except httpx.HTTPError as exc:  # a timeout: the agency may be working on it
                raise AgencyUnavailable(f"{body['infno']}: {type(exc).__name__}") from exc
            return _answer(body["infno"], response)
        log.warning("filing agency unreachable (%s): %s", body["infno"], type(last).__name__)
        raise AgencyUnavailable(f"{body['infno']}: {type(last).__name__}")


def _answer(infno: str, response: httpx.Response) -> AgencyAnswer:
    if response.status_code in (401, 403):
        log.error("filing agency refused our credentials (HTTP %s)", response.status_code)
        raise AgencyUnavailable(f"{infno}: credentials refused (HTTP {response.status_code})")
    if response.status_code != 200:
        raise AgencyUnavailable(f"{infno}: HTTP {response.status_code}")
    try:
        raw = response.json()
        infcode = int(raw["infcode"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AgencyUnavailable(f"{infno}: unreadable answer") from exc
    output = raw.get("output") if isinstance(raw.get("output"), dict) else {}
    return AgencyAnswer(
        infcode=infcode,
        err_msg=str(raw.get("err_msg") or ""),
        output=output or {},
        inf_refmsgid=raw.get("inf_refmsgid"),
        raw=raw,
    )
