"""The built web app is sent gzip-compressed to browsers that accept it (the viewer's chunk and
codecs over a county link), the same bytes once decompressed; images, ranges, small files
and browsers without gzip get the file as it is."""

from __future__ import annotations

import gzip
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.core.test_security_headers import _app

# Code-like text: repetitive, like a bundle (random letters would not compress, as JS does)
WORDS = ["const", "function", "return", "viewport", "render", "import", "=>", "{", "}", ";"]


def _bundle(n: int) -> bytes:
    rng = random.Random(7)
    return " ".join(rng.choice(WORDS) for _ in range(n)).encode()


@pytest.fixture
def site(session: Session, tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    (tmp_path / "index.html").write_text("<!doctype html><div id=app></div>")
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "viewer-abc.js").write_bytes(_bundle(200_000))
    (assets / "codec.wasm").write_bytes(b"\0asm" + bytes(50_000))
    (assets / "tiny.js").write_bytes(b"export {}")
    (assets / "logo.png").write_bytes(b"\x89PNG" + os.urandom(5000))
    with TestClient(_app(session, frontend_dir=tmp_path), raise_server_exceptions=False) as c:
        yield c, assets


def test_scripts_and_wasm_travel_gzipped_and_decompress_to_the_file(
    site: tuple[TestClient, Path],
) -> None:
    client, assets = site
    for name, media in (("viewer-abc.js", "javascript"), ("codec.wasm", "application/wasm")):
        raw = client.get(f"/assets/{name}", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
        assert raw.status_code == 200, raw.text[:200]
        assert raw.headers["content-encoding"] == "gzip"
        assert media in raw.headers["content-type"]
        assert "Accept-Encoding" in raw.headers["vary"]
        # httpx decodes the body: it is the file; on the wire it was at least 3x smaller
        assert raw.content == (assets / name).read_bytes()
        assert int(raw.headers["content-length"]) * 3 < (assets / name).stat().st_size
        assert raw.headers["etag"].endswith('-gz"')
        assert "x-content-type-options" in raw.headers  # the security headers still apply


def test_gzip_only_where_it_helps_and_is_accepted(site: tuple[TestClient, Path]) -> None:
    client, assets = site
    js = (assets / "viewer-abc.js").read_bytes()
    plain = client.get("/assets/viewer-abc.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == js
    assert "Accept-Encoding" in plain.headers["vary"]
    refused = client.get("/assets/viewer-abc.js", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    ranged = client.get(
        "/assets/viewer-abc.js", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-99"}
    )
    assert ranged.status_code == 206 and ranged.content == js[:100]
    for name in ("tiny.js", "logo.png"):
        r = client.get(f"/assets/{name}", headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and "content-encoding" not in r.headers, name
        assert r.content == (assets / name).read_bytes()
    assert client.get("/assets/missing.js", headers={"Accept-Encoding": "gzip"}).status_code == 404


def test_a_rebuilt_file_is_compressed_anew(site: tuple[TestClient, Path]) -> None:
    client, assets = site
    first = client.get("/assets/viewer-abc.js", headers={"Accept-Encoding": "gzip"})
    new = _bundle(100_000) + b" // rebuilt"
    (assets / "viewer-abc.js").write_bytes(new)
    again = client.get("/assets/viewer-abc.js", headers={"Accept-Encoding": "gzip"})
    assert again.headers["content-encoding"] == "gzip" and again.content == new
    assert gzip.decompress(gzip.compress(new)) == again.content != first.content
