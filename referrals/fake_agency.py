"""A local fake of the insurance agency's filing interface, for tests and `make run`.

It speaks the envelope of referrals.agency: refuses a request whose gateway signature
(x-tif-*) is wrong, stale (more than 300 s off) or replayed (a nonce seen before) with
HTTP 401; answers 2501 转院备案 (accepts a complete filing with a 30-character
trt_dcla_detl_sn; refuses an unknown 参保地, a missing diagnosis or a duplicate filing with
`infcode` -1 and the reason in `err_msg`) and 2502 撤销; answers a repeated msgid with its
first answer. It can be told to be `down` (connections are dropped unanswered) or `slow`.

    TELEMED_REFERRALS__FILING_AGENCY__TOKEN=... python -m referrals.fake_agency --port 18090

In a process, POST /_control {"down": true, "delay": 2.5} changes its behaviour.
"""

from __future__ import annotations

import argparse
import hmac
import itertools
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from referrals.agency import REVOKE_FILING, TRANSFER_FILING, gateway_signature

__all__ = ["FakeAgency"]

# Insured areas (参保地) it knows: the leagues and cities of Inner Mongolia (15xx00).
KNOWN_AREAS = frozenset(f"15{n:02d}00" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 22, 25, 29))
MAX_SKEW_SECONDS = 300
_ENV = "TELEMED_REFERRALS__FILING_AGENCY__"


@dataclass
class FakeAgency:
    """The fake agency's state; `start()` serves it on 127.0.0.1 (a free port by default)."""

    paasid: str
    token: str
    port: int = 0
    down: bool = False
    delay: float = 0.0
    known_areas: frozenset[str] = KNOWN_AREAS  # 参保地 it accepts
    requests: list[dict[str, Any]] = field(default_factory=list)  # every verified envelope
    refused: list[str] = field(default_factory=list)  # why each refused request was refused
    filings: dict[str, dict[str, Any]] = field(default_factory=dict)  # by trt_dcla_detl_sn
    _answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # by msgid
    _nonces: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/fsi/api/rsfComIfsService/callService"

    def start(self) -> FakeAgency:
        agency = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                agency._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # the exchange --------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        if h.path == "/_control":
            settings = json.loads(body or b"{}")
            self.down = bool(settings.get("down", self.down))
            self.delay = float(settings.get("delay", self.delay))
            return _reply(h, 200, {"down": self.down, "delay": self.delay})
        if self.down:  # a dead agency: the connection drops without an answer
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return None
        if self.delay:
            time.sleep(self.delay)
        why = self._refusal(h)
        if why is not None:
            self.refused.append(why)
            return _reply(h, 401, {"infcode": -1, "err_msg": why})
        try:
            envelope = json.loads(body)
        except ValueError:
            return _reply(h, 400, {"infcode": -1, "err_msg": "报文格式错误"})
        with self._lock:
            self.requests.append(envelope)
            answer = self._answers.get(envelope.get("msgid", ""))
            if answer is None:
                answer = self._answer(envelope)
                self._answers[envelope.get("msgid", "")] = answer
        return _reply(h, 200, answer)

    def _refusal(self, h: BaseHTTPRequestHandler) -> str | None:
        paasid, ts = h.headers.get("x-tif-paasid"), h.headers.get("x-tif-timestamp", "")
        nonce, signature = h.headers.get("x-tif-nonce", ""), h.headers.get("x-tif-signature", "")
        if paasid != self.paasid:
            return "unknown paasid"
        if not ts.isdigit() or abs(time.time() - int(ts)) > MAX_SKEW_SECONDS:
            return "stale timestamp"
        if not hmac.compare_digest(signature, gateway_signature(ts, self.token, nonce)):
            return "bad signature"
        with self._lock:
            if nonce in self._nonces:
                return "nonce replayed"
            self._nonces.add(nonce)
        return None

    def _answer(self, envelope: dict[str, Any]) -> dict[str, Any]:
        infno, data = envelope.get("infno"), envelope.get("input") or {}
        if infno == TRANSFER_FILING:
            return self._transfer(data.get("refmedin") or {})
        if infno == REVOKE_FILING:
            return self._revoke(data.get("data") or {})
        return _out(-1, f"交易编号[{infno}]不存在")

    def _transfer(self, f: dict[str, Any]) -> dict[str, Any]:
        for name, label in (("psn_no", "人员编号"), ("insutype", "险种类型")):
            if not f.get(name):
                return _out(-1, f"{label}不能为空")
        if f.get("insu_optins") not in self.known_areas:
            return _out(-1, f"参保地医保区划[{f.get('insu_optins')}]不存在")
        if not f.get("diag_code"):
            return _out(-1, "诊断代码不能为空")
        if not (f.get("reflin_medins_no") and f.get("begndate") and f.get("enddate")):
            return _out(-1, "转往定点医药机构编号、开始日期、结束日期不能为空")
        for other in self.filings.values():
            if (
                other["status"] == "active"
                and other["psn_no"] == f["psn_no"]
                and other["reflin_medins_no"] == f["reflin_medins_no"]
                and other["begndate"] <= f["enddate"]
                and f["begndate"] <= other["enddate"]
            ):
                return _out(-1, "该人员已存在有效期内的转院备案，不能重复备案")
        number = self._number()
        self.filings[number] = {**f, "status": "active"}
        return _out(0, "", {"result": {"trt_dcla_detl_sn": number}})

    def _revoke(self, d: dict[str, Any]) -> dict[str, Any]:
        filing = self.filings.get(str(d.get("trt_dcla_detl_sn")))
        if filing is None or filing["psn_no"] != d.get("psn_no") or filing["status"] != "active":
            return _out(-1, "未找到有效的转院备案信息")
        filing["status"] = "revoked"
        return _out(0, "")

    def _number(self) -> str:
        return f"150000{datetime.now(UTC):%Y%m%d%H%M%S}{next(self._seq):010d}"


def _out(infcode: int, err_msg: str, output: dict[str, Any] | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "infcode": infcode,
        "inf_refmsgid": f"150000{now:%Y%m%d%H%M%S}{now.microsecond:010d}",
        "refmsg_time": f"{now:%Y%m%d%H%M%S}{now.microsecond // 1000:03d}",
        "respond_time": f"{now:%Y%m%d%H%M%S}{now.microsecond // 1000:03d}",
        "err_msg": err_msg,
        "output": output or {},
    }


def _reply(h: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json;charset=utf-8")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18090)
    parser.add_argument("--paasid", default=os.environ.get(f"{_ENV}PAASID", "telemed-dev"))
    # the token from the environment (a command line is visible to every local user)
    parser.add_argument("--token", default=os.environ.get(f"{_ENV}TOKEN"))
    args = parser.parse_args()
    if not args.token:
        parser.error(f"set {_ENV}TOKEN")
    agency = FakeAgency(paasid=args.paasid, token=args.token, port=args.port).start()
    print(f"fake filing agency on {agency.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        agency.stop()


if __name__ == "__main__":
    main()
