"""No network: Overpass or Geofabrik unreachable is one line and exit 2 within the time budget,
with what to do instead; a checked Geofabrik download in the cache is used offline. HTTP failures
are recorded with `responses` (nothing leaves the machine)."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests
import responses
from conftest import helsinki_pbf

from routing.cli import main
from routing.errors import NetworkLoadError
from routing.network import http, load_network
from routing.settings import overpass_url

GEOFABRIK = "https://download.geofabrik.de/asia/syria-latest.osm.pbf"
UNRESOLVED = requests.ConnectionError("HTTPSConnectionPool(host='overpass-api.de', port=443): Max retries exceeded "
                                      "(Caused by NameResolutionError(\"Failed to resolve 'overpass-api.de'\"))")


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTING_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(http, "PAUSE_S", 0.0)  # no real waiting between attempts in tests


class Clock:
    """time.monotonic for routing.network.http: each request takes ``per_request`` seconds."""

    def __init__(self, per_request: float):
        self.now, self.per_request, self.requests = 0.0, per_request, 0

    def monotonic(self) -> float:
        return self.now

    def tick(self, request) -> tuple[int, dict, str]:
        self.requests += 1
        self.now += self.per_request
        raise requests.ConnectTimeout("connect timed out")


def test_overpass_unreachable_is_one_line_exit_2_with_what_to_do(capsys):
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, overpass_url(), body=UNRESOLVED)
        assert main(["-q", "run", "syria-2024-12-06", "--out", "unused"]) == 2
        assert len(rsps.calls) == http.ATTEMPTS
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: {overpass_url()}: Overpass download failed: cannot resolve the host name")
    assert "--network FILE.osm.pbf" in err and "geofabrik:" in err and "$ROUTING_CACHE_DIR/overpass" in err


def test_attempts_stop_when_the_time_budget_is_spent(monkeypatch):
    clock = Clock(per_request=20.0)  # each attempt hangs 20 s: the default 30 s budget allows two
    monkeypatch.setattr(http.time, "monotonic", clock.monotonic)
    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.POST, overpass_url(), callback=clock.tick)
        with pytest.raises(NetworkLoadError, match=r"failed: connection timed out \(2 attempts in 40 s, limit 30 s"):
            load_network("overpass", bbox=(36.0, 34.0, 36.1, 34.1))
    assert clock.requests == 2
    monkeypatch.setenv("ROUTING_NETWORK_TIMEOUT", "5")
    clock = Clock(per_request=20.0)
    monkeypatch.setattr(http.time, "monotonic", clock.monotonic)
    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.POST, overpass_url(), callback=clock.tick)
        with pytest.raises(NetworkLoadError, match=r"\(1 attempt in 20 s, limit 5 s"):
            load_network("overpass", bbox=(36.0, 34.0, 36.1, 34.1))
    assert clock.requests == 1


def test_a_temporary_error_is_retried_then_succeeds():
    answer = {"elements": [
        {"type": "node", "id": 1, "lat": 34.0, "lon": 36.0}, {"type": "node", "id": 2, "lat": 34.01, "lon": 36.0},
        {"type": "way", "id": 10, "nodes": [1, 2], "tags": {"highway": "primary"}}]}
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, overpass_url(), status=504)
        rsps.add(responses.POST, overpass_url(), json=answer)
        G = load_network("overpass", bbox=(35.9, 33.9, 36.1, 34.1))
        assert len(rsps.calls) == 2
    assert G.number_of_edges() == 2


def test_overpass_busy_every_time(capsys):
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, overpass_url(), status=429)
        with pytest.raises(NetworkLoadError, match=r"Overpass download failed: HTTP 429 Too Many Requests \(3 att"):
            load_network("overpass", bbox=(36.0, 34.0, 36.1, 34.1))


def test_geofabrik_unreachable_says_where_to_put_the_file(tmp_path):
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, GEOFABRIK + ".md5", body=requests.ConnectionError("Network is unreachable"))
        with pytest.raises(NetworkLoadError) as err:
            load_network("geofabrik:asia/syria")
    message = str(err.value)
    assert message.startswith(f"{GEOFABRIK}.md5: fetching the extract's checksum failed: network unreachable")
    assert "--network FILE.osm.pbf" in message and "syria-latest.osm.pbf.md5" in message


def test_a_checked_geofabrik_download_is_used_without_the_network(tmp_path):
    pbf = helsinki_pbf().read_bytes()
    with responses.RequestsMock() as rsps:  # first: download and check
        rsps.add(responses.GET, GEOFABRIK + ".md5", body=f"{hashlib.md5(pbf).hexdigest()}  syria-latest.osm.pbf\n")
        rsps.add(responses.GET, GEOFABRIK, body=pbf)
        first = load_network("geofabrik:asia/syria")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:  # then offline: no request made
        rsps.add(responses.GET, GEOFABRIK + ".md5", body=UNRESOLVED)
        again = load_network("geofabrik:asia/syria")
        assert len(rsps.calls) == 0
    assert again.number_of_edges() == first.number_of_edges()
    target = tmp_path / "cache" / "geofabrik" / "asia" / "syria-latest.osm.pbf"
    target.write_bytes(pbf[:-10])  # damaged since: not trusted, the network is asked again
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, GEOFABRIK + ".md5", body=UNRESOLVED)
        with pytest.raises(NetworkLoadError, match="cannot resolve"):
            load_network("geofabrik:asia/syria")


@pytest.mark.parametrize("value", ["soon", "0", "-3", "nan", "1e9"])
def test_bad_timeout_in_the_environment(monkeypatch, capsys, value):
    monkeypatch.setenv("ROUTING_NETWORK_TIMEOUT", value)
    with responses.RequestsMock():
        assert main(["-q", "run", "syria-2024-12-06", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert f"environment variable ROUTING_NETWORK_TIMEOUT = {value!r}: expected seconds in (0, 3600]" in err
    assert json.dumps(err).count("\\n") == 1


def test_an_unwritable_cache_folder(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ROUTING_CACHE_DIR", str(blocker))
    answer = {"elements": [
        {"type": "node", "id": 1, "lat": 34.0, "lon": 36.0}, {"type": "node", "id": 2, "lat": 34.01, "lon": 36.0},
        {"type": "way", "id": 10, "nodes": [1, 2], "tags": {"highway": "primary"}}]}
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, overpass_url(), json=answer)
        assert load_network("overpass", bbox=(35.9, 33.9, 36.1, 34.1)).number_of_edges() == 2  # used, not cached
    assert "could not cache the Overpass answer" in caplog.text
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, GEOFABRIK + ".md5", body=f"{'0' * 32}  syria-latest.osm.pbf\n")
        with pytest.raises(NetworkLoadError, match=r"a-file/geofabrik/asia: cannot create the download folder"):
            load_network("geofabrik:asia/syria")
