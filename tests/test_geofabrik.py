"""Geofabrik extract download (routing.geofabrik) against a mocked server: no network."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
import requests
import responses

from routing.errors import NetworkLoadError
from routing.network import geofabrik

BASE = "https://download.geofabrik.de"
URL = f"{BASE}/asia/syria-latest.osm.pbf"
PAYLOAD = bytes(range(256)) * 16384  # 4 MiB standing in for the extract
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class _Server:
    """Serves PAYLOAD at URL, honouring ``Range: bytes=N-`` unless told not to."""

    def __init__(self, rsps: responses.RequestsMock, payload: bytes = PAYLOAD, md5: str = MD5,
                 ranges: bool = True, break_after: int | None = None):
        self.payload, self.ranges, self.break_after = payload, ranges, break_after
        self.range_headers: list[str | None] = []
        rsps.add(responses.GET, URL + ".md5", body=f"{md5}  syria-latest.osm.pbf\n")
        rsps.add_callback(responses.GET, URL, callback=self.answer)

    def answer(self, request: requests.PreparedRequest) -> tuple[int, dict, object]:
        header = request.headers.get("Range")
        self.range_headers.append(header)
        start = int(re.fullmatch(r"bytes=(\d+)-", header).group(1)) if header and self.ranges else 0
        if start >= len(self.payload):
            return 416, {}, b""
        body = self.payload[start:]
        headers = {"Content-Length": str(len(body))}
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(self.payload) - 1}/{len(self.payload)}"
        if self.break_after is not None:
            body = io.BufferedReader(_Breaking(body, self.break_after))
            self.break_after = None  # only the first connection breaks
        return (206 if start else 200), headers, body


class _Breaking(io.RawIOBase):
    """A response body that drops the connection after ``limit`` bytes."""

    def __init__(self, data: bytes, limit: int):
        self.data, self.limit, self.pos = data, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.pos >= self.limit:
            raise requests.exceptions.ConnectionError("connection reset by peer")
        n = min(len(buffer), self.limit - self.pos, 64 * 1024)
        buffer[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


def _target(folder: Path) -> Path:
    return folder / "asia" / "syria-latest.osm.pbf"


def test_extract_url() -> None:
    assert geofabrik.extract_url("asia/syria") == URL
    for bad in ("Asia/Syria", "../etc/passwd", "asia//syria", "", "asia/syria/"):
        with pytest.raises(NetworkLoadError, match="not a Geofabrik extract name"):
            geofabrik.extract_url(bad)


def test_download_checks_md5_and_lands_atomically(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        _Server(rsps)
        path = geofabrik.download_extract("asia/syria", folder=tmp_path)
    assert path == _target(tmp_path) and path.read_bytes() == PAYLOAD
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["syria-latest.osm.pbf", "syria-latest.osm.pbf.md5"]  # no .part left; the checksum record


def test_default_folder_is_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTING_CACHE_DIR", str(tmp_path))
    with responses.RequestsMock() as rsps:
        _Server(rsps)
        assert geofabrik.download_extract("asia/syria") == _target(tmp_path / "geofabrik")


def test_interrupted_download_resumes_with_range(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        server = _Server(rsps, break_after=2_500_000)  # after 2 whole 1 MiB chunks
        with pytest.raises(NetworkLoadError, match="interrupted .* run again to resume") as err:
            geofabrik.download_extract("asia/syria", folder=tmp_path)
        assert URL in str(err.value) and not _target(tmp_path).exists()
        part = _target(tmp_path).with_name("syria-latest.osm.pbf.part")
        assert 0 < part.stat().st_size < len(PAYLOAD)
        kept = part.stat().st_size
        path = geofabrik.download_extract("asia/syria", folder=tmp_path)
    assert server.range_headers == [None, f"bytes={kept}-"]
    assert path.read_bytes() == PAYLOAD and not part.exists()


def test_server_without_range_support_restarts(tmp_path: Path) -> None:
    part = _target(tmp_path).with_name("syria-latest.osm.pbf.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(PAYLOAD[:1000])
    part.with_name(part.name + ".md5").write_text(MD5)
    with responses.RequestsMock() as rsps:
        server = _Server(rsps, ranges=False)
        path = geofabrik.download_extract("asia/syria", folder=tmp_path)
    assert server.range_headers == ["bytes=1000-"] and path.read_bytes() == PAYLOAD


def test_part_of_an_older_extract_is_not_resumed(tmp_path: Path) -> None:
    part = _target(tmp_path).with_name("syria-latest.osm.pbf.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 1000)
    part.with_name(part.name + ".md5").write_text("0" * 32)  # belonged to yesterday's file
    with responses.RequestsMock() as rsps:
        server = _Server(rsps)
        path = geofabrik.download_extract("asia/syria", folder=tmp_path)
    assert server.range_headers == [None] and path.read_bytes() == PAYLOAD


def test_complete_part_is_verified_without_download(tmp_path: Path) -> None:
    part = _target(tmp_path).with_name("syria-latest.osm.pbf.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(PAYLOAD)
    part.with_name(part.name + ".md5").write_text(MD5)
    with responses.RequestsMock() as rsps:
        server = _Server(rsps)
        path = geofabrik.download_extract("asia/syria", folder=tmp_path)
    assert server.range_headers == [f"bytes={len(PAYLOAD)}-"] and path.read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_download(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        _Server(rsps, md5="f" * 32)
        with pytest.raises(NetworkLoadError, match="checksum mismatch") as err:
            geofabrik.download_extract("asia/syria", folder=tmp_path)
    assert URL in str(err.value)
    assert list(_target(tmp_path).parent.iterdir()) == []


def test_current_file_is_not_downloaded_again(tmp_path: Path) -> None:
    _target(tmp_path).parent.mkdir(parents=True)
    _target(tmp_path).write_bytes(PAYLOAD)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        server = _Server(rsps)
        assert geofabrik.download_extract("asia/syria", folder=tmp_path) == _target(tmp_path)
    assert server.range_headers == []


def test_outdated_file_is_replaced_whole(tmp_path: Path) -> None:
    _target(tmp_path).parent.mkdir(parents=True)
    _target(tmp_path).write_bytes(b"last month's extract")
    with responses.RequestsMock() as rsps:
        _Server(rsps)
        assert geofabrik.download_extract("asia/syria", folder=tmp_path).read_bytes() == PAYLOAD


@pytest.mark.parametrize("status, body", [(404, "not found"), (200, "<html>maintenance</html>")])
def test_bad_checksum_file(status: int, body: str, tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, URL + ".md5", status=status, body=body)
        with pytest.raises(NetworkLoadError, match="checksum") as err:
            geofabrik.download_extract("asia/syria", folder=tmp_path)
    assert URL + ".md5" in str(err.value)


def test_http_error_on_extract(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, URL + ".md5", body=f"{MD5}  syria-latest.osm.pbf\n")
        rsps.add(responses.GET, URL, status=503)
        with pytest.raises(NetworkLoadError, match="503") as err:
            geofabrik.download_extract("asia/syria", folder=tmp_path)
    assert URL in str(err.value)


def test_load_network_downloads_a_named_extract_then_loads_it(tmp_path, monkeypatch):
    from conftest import helsinki_pbf

    from routing.network import load_network

    monkeypatch.setenv("ROUTING_CACHE_DIR", str(tmp_path / "cache"))
    pbf = helsinki_pbf().read_bytes()
    with responses.RequestsMock() as rsps:
        _Server(rsps, payload=pbf, md5=hashlib.md5(pbf).hexdigest())
        G = load_network("geofabrik:asia/syria", road_classes="drive")
    assert (tmp_path / "cache" / "geofabrik" / "asia" / "syria-latest.osm.pbf").read_bytes() == pbf
    assert G.number_of_edges() > 100 and all("travel_time" in d for *_, d in G.edges(data=True))
