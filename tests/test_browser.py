"""The interactive map in a real headless Chromium, offline: no JavaScript errors, layers drawn.

Chromium and its driver come from Debian (``apt-get install chromium chromium-driver``; ``.ci/run``
installs them when missing). Outside CI the test is skipped without them; on CI (``CI`` set) a
missing browser fails. Name resolution is disabled in the browser, so nothing is fetched from the
internet: the background tiles fail to load (and only they may), the vector layers must draw.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest
from conftest import DEMO_SCENARIO

from routing import run_scenario
from routing.outputs.webmap import write_web_map

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")
TILE_HOST = "tile.openstreetmap.org"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900", "--host-resolver-rules=MAP * ~NOTFOUND"]
EXPECTED_OVERLAYS = ["Network", "Evacuation flow before", "Evacuation flow after", "Routes before", "Routes after",
                     "Evacuation routes before", "Evacuation routes after", "Destroyed / closed", "Places"]
COLOURS = {"Network": "#8c8c8c", "Routes before": "#1f77b4", "Routes after": "#ff7f0e",
           "Destroyed / closed": "#d62728", "Evacuation routes after": "#2ca02c"}

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
            lambda d: d.find_elements("css selector", ".leaflet-control-layers-overlays label"))
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The demo map loaded in headless Chromium; yields (driver, browser log entries)."""
    folder = tmp_path_factory.mktemp("browser")
    html = write_web_map(run_scenario(DEMO_SCENARIO), folder / "map.html")
    with chromium(html, folder) as driver:
        yield driver, driver.get_log("browser")


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
    labels = [e.text for e in driver.find_elements("css selector", ".leaflet-tooltip.routing-label")]
    assert {"Homs", "Hama", "Tartus", "Arida crossing"} <= set(labels)
    notice = driver.find_element("id", "routing-notice")
    assert notice.is_displayed() and "SCHEMATIC NETWORK" in notice.text


def toggle(driver, name: str) -> None:
    label = next(e for e in driver.find_elements("css selector", ".leaflet-control-layers-overlays label")
                 if e.text.strip() == name)
    label.find_element("css selector", "input").click()


def test_layers_toggle(page):
    driver, _ = page
    assert paths(driver, COLOURS["Routes before"]) > 0
    toggle(driver, "Routes before")
    assert paths(driver, COLOURS["Routes before"]) == 0
    toggle(driver, "Routes before")
    assert paths(driver, COLOURS["Routes before"]) > 0
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
    assert all(k in bridge[0] for k in ("OSM way", "ref", "M5", "event", "destroy"))
