"""A local Aliyun SMS endpoint: speaks `SendSms` (RPC, API 2017-05-25) over real HTTP and
checks every request's signature the way the provider does, written here from the
provider's documentation (not with the code under test).

It refuses a bad signature (`SignatureDoesNotMatch`, HTTP 400), a replayed nonce, a stale
timestamp and missing parameters, and can be told to fail with a provider error code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote

REQUIRED = (
    "AccessKeyId",
    "Action",
    "Format",
    "RegionId",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "Timestamp",
    "Version",
    "PhoneNumbers",
    "SignName",
    "TemplateCode",
    "Signature",
)


def _enc(s: str) -> str:
    # RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are; space is %20, not +.
    return quote(s, safe="~").replace("+", "%20").replace("*", "%2A")


def expected_signature(params: dict[str, str], secret: str, method: str) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in pairs)
    string_to_sign = method + "&" + _enc("/") + "&" + _enc(canonical)
    mac = hmac.new((secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


@dataclass
class FakeAliyunSms:
    access_key_id: str = "LTAI-test-key"
    access_key_secret: str = "test-secret-of-the-fake"
    accepted: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    fail_with: str | None = None  # e.g. "isv.BUSINESS_LIMIT_CONTROL": every send fails
    _nonces: set[str] = field(default_factory=set)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def _answer(self, method: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        missing = [k for k in REQUIRED if not params.get(k)]
        if missing:
            return 400, {"Code": "MissingParameter", "Message": f"missing {missing[0]}"}
        if params["AccessKeyId"] != self.access_key_id:
            return 404, {"Code": "InvalidAccessKeyId.NotFound", "Message": "no such key"}
        if params["Signature"] != expected_signature(params, self.access_key_secret, method):
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "signature mismatch"}
        if params["SignatureNonce"] in self._nonces:
            return 400, {"Code": "SignatureNonceUsed", "Message": "nonce used"}
        self._nonces.add(params["SignatureNonce"])
        sent = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs(datetime.now(UTC) - sent) > timedelta(minutes=15):
            return 400, {"Code": "InvalidTimeStamp.Expired", "Message": "stale"}
        if (params["Action"], params["Version"]) != ("SendSms", "2017-05-25"):
            return 400, {"Code": "InvalidAction", "Message": "unknown action"}
        if self.fail_with:
            return 200, {"Code": self.fail_with, "Message": "refused by the fake"}
        self.accepted.append({**params, "TemplateParam": json.loads(params["TemplateParam"])})
        return 200, {"Code": "OK", "Message": "OK", "BizId": f"biz-{len(self.accepted)}"}

    def start(self) -> FakeAliyunSms:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, method: str, params: dict[str, str]) -> None:
                status, body = fake._answer(method, params)
                if body["Code"] not in ("OK",):
                    fake.refused.append({"code": body["Code"], **params})
                data = json.dumps({"RequestId": "req", **body}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                self._reply("POST", dict(parse_qsl(body, keep_blank_values=True)))

            def do_GET(self) -> None:
                query = self.path.split("?", 1)[1] if "?" in self.path else ""
                self._reply("GET", dict(parse_qsl(query, keep_blank_values=True)))

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
