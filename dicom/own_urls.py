"""DICOMweb answers carry only our own URLs, never the archive's address.

Orthanc's QIDO-RS results name each study, series and instance by a RetrieveURL
(0008,1190) on Orthanc's own host and port, and a stored instance may carry any URL in its
header. A reader must neither learn where the archive listens nor be sent around the
access checks of `/dicom-web/`, so before an answer leaves:

- every URL value (VR UR, RetrieveURL at any depth) whose path has a `/studies/...` part
  is rebuilt on our base (`https://<our host>/dicom-web/studies/...`); other URLs that name
  the archive's host:port are removed;
- any other string value naming the archive's host:port is removed (the attribute is kept
  with its VR and no value), and so is a `BulkDataURI` that names it.

`rewrite_bytes` does the same to an answer as the archive wrote it, without parsing it in
the usual case: the archive's DICOMweb prefix (`http://<archive>/dicom-web`) is replaced by
ours in the bytes, and only when the archive's host:port still appears, or a `/studies/`
path not on our base does, is the answer parsed and walked as above.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

__all__ = ["rewrite", "rewrite_bytes"]

_RETRIEVE_URL = "00081190"


def rewrite(items: Any, *, archive_url: str | None, public_base: str) -> Any:
    """A copy of a DICOM JSON answer (list or object) with archive URLs replaced."""
    netloc = urlsplit(archive_url).netloc.lower() if archive_url else ""
    return _walk(items, netloc, public_base.rstrip("/"))


def rewrite_bytes(body: bytes, *, archive_url: str | None, public_base: str) -> bytes:
    """`rewrite` of a DICOM JSON answer given as bytes; bytes out (parsed only if needed)."""
    base = public_base.rstrip("/")
    netloc = urlsplit(archive_url).netloc.lower() if archive_url else ""
    out = body
    if netloc:
        prefix = re.compile(
            rb"https?://" + re.escape(netloc.encode()) + rb"/dicom-web(?=/studies/)", re.I
        )
        own = base.encode()
        out = prefix.sub(lambda _m: own, body)
    clean = not netloc or netloc.encode() not in out.lower()
    if clean and out.count(b"/studies/") == out.count(base.encode() + b"/studies/"):
        return out
    return json.dumps(_walk(json.loads(out), netloc, base)).encode()


def _names_archive(text: str, netloc: str) -> bool:
    return bool(netloc) and netloc in text.lower()


def _own_url(url: str, netloc: str, base: str) -> str | None:
    path = urlsplit(url).path
    at = path.find("/studies/")
    if at >= 0:
        return base + path[at:]
    return None if _names_archive(url, netloc) else url


def _attribute(tag: str, attr: dict[str, Any], netloc: str, base: str) -> dict[str, Any]:
    out = dict(attr)
    if "BulkDataURI" in out and _names_archive(str(out["BulkDataURI"]), netloc):
        del out["BulkDataURI"]
    values = out.get("Value")
    if not isinstance(values, list):
        return out
    if out.get("vr") == "SQ":
        out["Value"] = [_walk(v, netloc, base) for v in values]
        return out
    if out.get("vr") == "UR" or tag == _RETRIEVE_URL:
        kept = [u for u in (_own_url(str(v), netloc, base) for v in values) if u is not None]
    else:
        kept = [v for v in values if not (isinstance(v, str) and _names_archive(v, netloc))]
    if kept:
        out["Value"] = kept
    else:
        del out["Value"]
    return out


def _walk(node: Any, netloc: str, base: str) -> Any:
    if isinstance(node, list):
        return [_walk(n, netloc, base) for n in node]
    if isinstance(node, dict):
        return {
            tag: _attribute(tag, attr, netloc, base) if isinstance(attr, dict) else attr
            for tag, attr in node.items()
        }
    return node
