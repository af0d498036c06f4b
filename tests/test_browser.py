"""The interactive map in a real headless Chromium, offline: no JavaScript errors, layers drawn; at
the default zoom every destroyed or closed asset's marker is on screen and large enough, and the
title box shows the as-of date and the data notice (the demo and the real-data Andorra scenario).

Chromium and its driver come from Debian (``apt-get install chromium chromium-driver``; ``.ci/run``
installs them when missing). Outside CI the test is skipped without them; on CI (``CI`` set) a
missing browser fails. Name resolution is disabled in the browser, so nothing is fetched from the
internet: the background tiles fail to load (and only they may), the vector layers must draw.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import ANDORRA_SCENARIO, DEMO_SCENARIO

from routing import run_scenario
from routing.outputs.style import AFTER_COLOUR, BEFORE_COLOUR, BROKEN_COLOUR
from routing.outputs.webmap import write_web_map
from routing.scenario import Scenario

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")
TILE_HOST = "tile.openstreetmap.org"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900", "--host-resolver-rules=MAP * ~NOTFOUND"]
EXPECTED_OVERLAYS = ["Network", "Evacuation flow before", "Evacuation flow after", "What changed", "Routes before",
                     "Routes after", "Evacuation routes before", "Evacuation routes after", "Destroyed / closed",
                     "Places"]
COLOURS = {"Network": "#7d7d7d", "What changed": AFTER_COLOUR, "Destroyed / closed": BROKEN_COLOUR}
MIN_MARKER_PX = 16

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    reason = f"headless browser test needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from selenium import webdriver  # noqa: E402  (the "test" extra)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@contextlib.contextmanager
def chromium(html: Path, folder: Path):
    """``html`` loaded in headless Chromium (profile in ``folder``) once its layer control is drawn."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in [*CHROMIUM_ARGS, f"--user-data-dir={folder / 'profile'}"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        driver.set_page_load_timeout(30)
        driver.get(html.resolve().as_uri())
        WebDriverWait(driver, 15).until(
            lambda d: d.find_elements("css selector", ".leaflet-control-layers-overlays label")
            and d.execute_script("return document.body.dataset.decluttered"))  # labels placed at least once
        last = {"runs": None, "since": 0.0}

        def labels_settled(d) -> bool:  # no new label placement (fit, zoom) for 0.5 s
            runs = d.execute_script("return document.body.dataset.decluttered")
            if runs != last["runs"]:
                last.update(runs=runs, since=time.monotonic())
            return time.monotonic() - last["since"] >= 0.5

        WebDriverWait(driver, 15, poll_frequency=0.1).until(labels_settled)
        yield driver
    finally:
        driver.quit()


def open_page(result, folder: Path):
    """``result``'s map.html loaded in headless Chromium; yields (driver, browser log entries)."""
    with chromium(write_web_map(result, folder / "map.html"), folder) as driver:
        yield driver, driver.get_log("browser")


@pytest.fixture(scope="module")
def demo():
    """The demo with an explicit as-of date (the day of its events)."""
    return run_scenario(dataclasses.replace(Scenario.from_file(DEMO_SCENARIO), as_of=dt.date(2024, 12, 6)))


@pytest.fixture(scope="module")
def page(demo, tmp_path_factory):
    """The demo map in headless Chromium; yields (driver, browser log entries)."""
    yield from open_page(demo, tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def andorra():
    return run_scenario(ANDORRA_SCENARIO)


@pytest.fixture(scope="module")
def andorra_page(andorra, tmp_path_factory):
    yield from open_page(andorra, tmp_path_factory.mktemp("browser-andorra"))


def paths(driver, colour: str) -> int:
    """Number of SVG paths drawn with this stroke colour in Leaflet's overlay pane."""
    return int(driver.execute_script(
        "return document.querySelectorAll(`.leaflet-overlay-pane svg path[stroke='${arguments[0]}']`).length",
        colour))


def test_loads_without_javascript_errors(page):
    driver, log = page
    errors = [e for e in log if e["level"] == "SEVERE"
              and not (e["source"] == "network" and TILE_HOST in e["message"])]
    assert errors == [], "errors in the browser console (only offline tiles may fail)"
    assert driver.execute_script("return typeof L === 'object' && L.version") == "1.9.3"


def test_layer_control_lists_the_layers(page):
    driver, _ = page
    labels = [e.text.strip() for e in driver.find_elements("css selector", ".leaflet-control-layers-overlays label")]
    assert labels == EXPECTED_OVERLAYS
    bases = [e.text.strip() for e in driver.find_elements("css selector", ".leaflet-control-layers-base label")]
    assert bases == ["OpenStreetMap tiles (online)"]


def test_vector_layers_draw_offline(page):
    driver, _ = page
    for layer, colour in COLOURS.items():
        assert paths(driver, colour) > 0, f"{layer}: no SVG path drawn"
    labels = driver.execute_script("""
        return Array.from(document.querySelectorAll('.leaflet-tooltip')).map(e => {
            const b = e.getBoundingClientRect();
            return {text: e.textContent, shown: getComputedStyle(e).visibility !== 'hidden',
                    box: [b.left, b.top, b.right, b.bottom]};
        });""")
    assert {"Homs", "Hama", "Tartus", "Arida crossing"} <= {x["text"] for x in labels}
    shown = [x for x in labels if x["shown"]]
    assert len(shown) >= 0.75 * len(labels)  # at the default zoom most labels find room
    for i, a in enumerate(shown):  # labels that would overlap are hidden until one zooms in
        for b in shown[:i]:
            (l1, t1, r1, b1), (l2, t2, r2, b2) = a["box"], b["box"]
            assert not (l1 < r2 - 1 and l2 < r1 - 1 and t1 < b2 - 1 and t2 < b1 - 1), (a, b)  # 1 px: rounding
    notice = driver.find_element("id", "routing-notice")
    assert notice.is_displayed() and "SCHEMATIC NETWORK" in notice.text


def markers_on_screen(driver) -> list[dict]:
    """Bounding boxes (CSS pixels) of the damage markers, and the viewport size."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('.routing-damage-marker')).map(e => {
            const b = e.getBoundingClientRect(), hit = document.elementFromPoint(b.x + b.width / 2,
                                                                                 b.y + b.height / 2);
            return {x: b.x, y: b.y, w: b.width, h: b.height, vw: window.innerWidth, vh: window.innerHeight,
                    top: hit === e || e.contains(hit), title: e.title};
        });""")


@pytest.mark.parametrize("which", ["demo", "andorra"])
def test_damage_markers_are_on_screen_and_large_at_the_default_zoom(which, request):
    result = request.getfixturevalue(which)
    driver, _ = request.getfixturevalue("page" if which == "demo" else "andorra_page")
    boxes = markers_on_screen(driver)
    expected = result.damage_markers_gdf()
    assert len(boxes) == len(expected) >= 2
    assert sorted(b["title"] for b in boxes) == sorted(expected["effect"])
    for b in boxes:
        assert b["w"] >= MIN_MARKER_PX and b["h"] >= MIN_MARKER_PX, b
        assert 0 <= b["x"] and b["x"] + b["w"] <= b["vw"] and 0 <= b["y"] and b["y"] + b["h"] <= b["vh"], b
        assert b["top"], f"marker covered by something else: {b}"
    labels = [e.text for e in driver.find_elements("css selector", ".leaflet-tooltip.routing-damage")]
    assert labels and all(label.endswith((": destroyed", ": closed")) for label in labels)


@pytest.mark.parametrize("which", ["demo", "andorra"])
def test_title_box_shows_the_as_of_date_and_the_data_notice(which, request):
    result = request.getfixturevalue(which)
    driver, _ = request.getfixturevalue("page" if which == "demo" else "andorra_page")
    notice = driver.find_element("id", "routing-notice")
    assert notice.is_displayed()
    as_of = driver.find_element("id", "routing-as-of").text
    assert as_of == result.as_of_text()
    if which == "demo":
        assert as_of.startswith("As of 2024-12-06: 3 of 3 events applied")
        assert "SCHEMATIC NETWORK" in notice.text
    else:
        assert as_of == "2 of 2 events applied" and "© OpenStreetMap contributors, ODbL 1.0" in notice.text
    assert result.scenario.name in notice.text


def toggle(driver, name: str) -> None:
    label = next(e for e in driver.find_elements("css selector", ".leaflet-control-layers-overlays label")
                 if e.text.strip() == name)
    label.find_element("css selector", "input").click()


def test_layers_toggle(page):
    driver, _ = page
    shown = paths(driver, BEFORE_COLOUR)  # the lost parts of routes, in "What changed"
    toggle(driver, "Routes before")  # hidden at first
    assert paths(driver, BEFORE_COLOUR) > shown
    toggle(driver, "Routes before")
    assert paths(driver, BEFORE_COLOUR) == shown
    dashed = "return document.querySelectorAll(`.leaflet-overlay-pane path[stroke-dasharray]`).length"
    shown = driver.execute_script(dashed)
    toggle(driver, "Evacuation routes before")
    assert driver.execute_script(dashed) > shown


def test_popup_of_the_destroyed_bridge(page):
    driver, _ = page
    texts = driver.execute_script("""
        const out = [];
        for (const path of document.querySelectorAll(`.leaflet-overlay-pane path[stroke='${arguments[0]}']`)) {
            const box = path.getBoundingClientRect();
            path.dispatchEvent(new MouseEvent('click', {bubbles: true, clientX: box.x + box.width / 2,
                                                        clientY: box.y + box.height / 2}));
            const content = document.querySelector('.leaflet-popup-content');
            if (content) out.push(content.innerText);
        }
        return out;""", COLOURS["Destroyed / closed"])
    bridge = [t for t in texts if "Rastan bridge" in t]
    assert bridge, texts
    # schematic way ids are not OpenStreetMap's, and the popup says so
    assert all(k in bridge[0] for k in ("way id (schematic, not OSM)", "ref", "M5", "event", "destroy"))
    assert "OSM way" not in bridge[0]
