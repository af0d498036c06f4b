"""The PNG maps, checked on what the renderer drew: on the schematic demo and on real OSM data
(Andorra). Legend entries name only what is drawn; place and event labels do not overlap; every
damage marker lies inside its axes; the extent holds every place; the files are the figure and its
two halves of one rendering, after one label layout; the title block states the as-of date."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import matplotlib as mpl
import matplotlib.image as mpimg
import numpy as np
import pytest
from adjustText import adjust_text
from conftest import ANDORRA_SCENARIO, DEMO_SCENARIO
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image
from shapely.geometry import LineString, MultiLineString

from routing import run_scenario
from routing.outputs import maps
from routing.outputs.maps import draw_maps, write_maps
from routing.scenario import Scenario

CASES = {"demo": DEMO_SCENARIO, "andorra": ANDORRA_SCENARIO}


@pytest.fixture(scope="module", params=list(CASES))
def drawn(request):
    result = run_scenario(CASES[request.param])
    figure = draw_maps(result)
    figure.figure.canvas.draw()
    yield request.param, result, figure
    figure.figure.clf()


def holds_features(artist) -> bool:
    if isinstance(artist, LineCollection):
        return len(artist.get_segments()) > 0
    if isinstance(artist, Line2D):  # point markers
        return artist.get_linestyle() == "None" and len(artist.get_xydata()) > 0
    return False


def test_legend_names_only_what_is_drawn(drawn):
    _, result, figure = drawn
    renderer = figure.figure.canvas.get_renderer()
    for state, panel in figure.panels.items():
        assert not figure.subfigures[state].legends and not any(ax.get_legend() for ax in figure.subfigures[state].axes)
        legend = panel.legend
        entries = [t.get_text() for t in legend.texts]
        box = legend.window_extent(renderer)
        lowest = min(ax.get_window_extent().y0 for ax in (panel.ax, *panel.zooms))
        half = figure.subfigures[state].bbox
        assert box.y1 < lowest and half.x0 <= box.x0 and box.x1 <= half.x1 and box.y0 >= half.y0  # below the maps
        assert entries == list(panel.handles) == list(panel.drawn)
        texts = [t.get_window_extent(renderer) for t in legend.texts]
        handles = [h.get_window_extent(renderer) for h in legend.handles]
        assert not any(a.overlaps(b) for a, b in itertools.combinations(texts + handles, 2))
        for handle, text in zip(handles, texts, strict=True):  # each handle left of its label, on its row
            assert handle.x1 < text.x0 and text.y0 < (handle.y0 + handle.y1) / 2 < text.y1
        axes = [panel.ax, *panel.zooms]
        for label, artist in panel.drawn.items():
            assert holds_features(artist), label
            assert any(artist in ax.get_children() for ax in axes), label
    after = list(figure.panels["damaged"].drawn)
    assert "degraded roads" not in after and "degraded" not in after  # nothing is degraded in either case
    if result.evacuation_capacity is None:
        assert not any(label.startswith("evacuation") for label in after)


def test_place_and_event_labels_do_not_overlap(drawn):
    _, _, figure = drawn
    renderer = figure.figure.canvas.get_renderer()
    for panel in figure.panels.values():
        shown = [t for t in panel.labels if t.get_visible()]
        assert len(shown) >= len(panel.labels) - 2, "at most two labels hidden for lack of room"
        boxes = [t.get_window_extent(renderer) for t in shown]
        for (a, ta), (b, tb) in itertools.combinations(zip(boxes, shown), 2):
            assert not a.overlaps(b), (ta.get_text(), tb.get_text())
        axes_box = panel.ax.get_window_extent(renderer)
        for box, text in zip(boxes, shown):
            assert axes_box.contains(box.x0, box.y0) and axes_box.contains(box.x1, box.y1), text.get_text()


def test_a_label_at_the_right_edge_goes_left_of_its_point():
    fig = Figure(figsize=(4, 3))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    edge = ax.text(0.95, 0.5, "a long place name at the edge", ha="left", va="bottom")
    middle = ax.text(0.1, 0.2, "short", ha="left", va="bottom")
    shown = maps.spread_labels(ax, [edge, middle])
    renderer = fig.canvas.get_renderer()
    assert [b.bounds for b in shown] == [t.get_window_extent(renderer).bounds for t in (edge, middle)]  # as placed
    box, frame = edge.get_window_extent(renderer), ax.get_window_extent(renderer)
    point_x = ax.transData.transform((0.95, 0.5))[0]
    assert frame.x0 <= box.x0 and box.x1 <= point_x + 5  # inside, ending at its point instead of running over it
    assert middle.get_window_extent(renderer).x0 >= ax.transData.transform((0.1, 0.2))[0] - 5  # kept on the right


def test_zoom_numbers_cover_no_label_and_match_across_panels(drawn):
    _, _, figure = drawn
    renderer = figure.figure.canvas.get_renderer()
    before, after = figure.panels["baseline"], figure.panels["damaged"]
    assert len(before.zoom_numbers) == len(after.zoom_numbers) == len(after.zooms) >= 2
    for panel in (before, after):
        boxes = [t.get_window_extent(renderer) for t in panel.labels if t.get_visible()]
        for number in panel.zoom_numbers:
            box = number.get_window_extent(renderer)
            assert not any(box.overlaps(b) for b in boxes), number.get_text()
    assert [n.get_position() for n in before.zoom_numbers] == [n.get_position() for n in after.zoom_numbers]


def test_damage_markers_inside_the_axes_and_extent_holds_the_places(drawn):
    _, result, figure = drawn
    markers = result.damage_markers_gdf()
    after = figure.panels["damaged"]
    assert len(after.markers) == len(markers) >= 2
    for panel in figure.panels.values():
        x0, x1 = panel.ax.get_xlim()
        y0, y1 = panel.ax.get_ylim()
        assert ((result.places["lon"] > x0) & (result.places["lon"] < x1)
                & (result.places["lat"] > y0) & (result.places["lat"] < y1)).all()
    x0, x1 = after.ax.get_xlim()
    y0, y1 = after.ax.get_ylim()
    assert ((after.markers[:, 0] > x0) & (after.markers[:, 0] < x1)
            & (after.markers[:, 1] > y0) & (after.markers[:, 1] < y1)).all()
    drawn_markers = np.vstack([a.get_xydata() for label, a in after.drawn.items()
                               if label in ("destroyed", "closed") and a.axes is after.ax])
    assert sorted(map(tuple, np.round(drawn_markers, 6))) == sorted(map(tuple, np.round(after.markers, 6)))


def test_both_halves_laid_out_alike_top_to_bottom_without_overlaps(drawn):
    """Each half, from the top: scenario name, map title, map, zoom titles, zooms, legend, data
    notice (in its box), none overlapping the next, all inside the half; both maps and zooms of
    the same size at the same height (the same scale before and after)."""
    _, _, figure = drawn
    renderer = figure.figure.canvas.get_renderer()
    geometry = {}
    for state, panel in figure.panels.items():
        half, headings = figure.subfigures[state].bbox, figure.headings[state]
        name, title = headings.name.get_window_extent(renderer), headings.title.get_window_extent(renderer)
        main, zooms = panel.ax.get_window_extent(), [z.get_window_extent() for z in panel.zooms]
        legend = panel.legend.window_extent(renderer)
        notice = headings.notice.get_bbox_patch().get_window_extent(renderer)
        assert half.y1 >= name.y1 and name.y0 > title.y1 and title.y0 > main.y1
        for zoom_title, zoom in zip(headings.zoom_titles, zooms, strict=True):
            box = zoom_title.get_window_extent(renderer)
            assert main.y0 > box.y1 and box.y0 > zoom.y1
        assert min([main.y0, *(z.y0 for z in zooms)]) > legend.y1 and legend.y0 > notice.y1
        assert notice.y0 >= half.y0 - 1  # the notice's box is not cut at the figure's bottom
        for box in (name, main, *zooms, legend, notice):
            assert half.x0 - 1 <= box.x0 and box.x1 <= half.x1 + 1
        geometry[state] = [(b.y0, b.width, b.height) for b in (main, *zooms)]
    assert np.allclose(geometry["baseline"], geometry["damaged"])


def test_scale_bar_length_is_a_round_distance_at_the_map_scale():
    """The bar is as many pixels long as its label's metres at the axes' scale (east-west, at the
    middle latitude), a 1, 2 or 5 x 10^k length at most the given share of the axes' width, and
    lies with its label on its box inside the axes."""
    for (x0, x1, y0, y1), zoom in (((35.5, 37.5, 33.5, 35.5), False), ((36.70, 36.74, 34.70, 34.73), True),
                                   ((7.2, 7.8, 46.8, 47.2), False)):
        fig = Figure(figsize=(6, 5), dpi=110)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        bar, label = maps.add_scale_bar(ax, zoom=zoom)
        number, unit = label.get_text().split()
        metres = float(number) * (1000 if unit == "km" else 1)
        width_m = (x1 - x0) * maps.METRES_PER_DEGREE * np.cos(np.radians((y0 + y1) / 2))
        share = maps.SCALE_BAR_ZOOM_SHARE if zoom else maps.SCALE_BAR_SHARE
        assert metres <= share * width_m < 2.5 * metres  # the next round length would be too long
        assert metres / 10 ** np.floor(np.log10(metres)) in (1, 2, 5)
        frame = ax.get_window_extent()
        assert bar.get_window_extent().width == pytest.approx(metres / width_m * frame.width, abs=0.5)
        renderer = fig.canvas.get_renderer()
        (box_patch,) = [p for p in ax.patches if p is not bar]
        box = box_patch.get_window_extent()
        for part in (bar.get_window_extent(), label.get_window_extent(renderer)):
            assert box.x0 <= part.x0 and part.x1 <= box.x1 and box.y0 <= part.y0 and part.y1 <= box.y1
        assert frame.x0 < box.x0 and frame.y0 < box.y0
    assert [maps.scale_bar_metres(m) for m in (1.0, 1.9, 4.99, 5.0, 999.0, 7300.0, 2e4)] == [
        1, 1, 2, 5, 500, 5000, 2e4]
    assert [maps.scale_bar_label(m) for m in (500, 1000, 50_000, 2.0)] == ["500 m", "1 km", "50 km", "2 m"]


def test_extent_is_fitted_to_places_not_to_the_network(drawn):
    name, result, figure = drawn
    west, east, south, north = figure.extent
    lon, lat = result.places["lon"], result.places["lat"]
    assert west < lon.min() and east > lon.max() and south < lat.min() and north > lat.max()
    xs = [d["x"] for _, d in result.graph.nodes(data=True)]
    if name == "demo":  # the schematic network runs to Deir ez-Zor (40.1 E); no place lies east of Palmyra
        assert max(xs) > 40 and east < 39.0


def test_closed_crossing_approach_roads_are_not_painted_destroyed():
    result = run_scenario(DEMO_SCENARIO)
    figure = draw_maps(result)
    after = figure.panels["damaged"]
    destroyed = after.drawn["destroyed / closed roads"]
    assert isinstance(destroyed, LineCollection)
    damaged = result.damaged_edges_gdf()
    bridge = damaged[~damaged["by_closed_node"]]
    assert len(damaged) == 10 and len(bridge) == 2 and set(bridge["bridge"]) == {"yes"}  # two carriageways
    assert len(destroyed.get_segments()) == 2  # the 8 approach edges of the two closed crossings are not painted
    figure.figure.clf()


def test_written_files_are_the_figure_and_its_halves_with_the_as_of_date(tmp_path):
    scenario = dataclasses.replace(Scenario.from_file(DEMO_SCENARIO), as_of=dt.date(2024, 12, 5))
    result = run_scenario(scenario)
    figure = draw_maps(result)
    titles = [ax.get_title(loc="left") for ax in (figure.panels["baseline"].ax, figure.panels["damaged"].ax)]
    assert all("As of 2024-12-05: 0 of 3 events applied" in t for t in titles)
    paths = write_maps(result, tmp_path)
    assert [p.name for p in paths] == ["map_before.png", "map_after.png", "map_compare.png"]
    before, after, both = (mpimg.imread(p) for p in paths)
    assert both.shape[0] == before.shape[0] == after.shape[0]
    assert abs(before.shape[1] + after.shape[1] - both.shape[1]) <= 0.03 * both.shape[1]
    assert (before.shape[1] > 600) and before.std() > 0.05 and after.std() > 0.05  # not blank
    assert not (figure.panels["damaged"].markers.size)  # nothing applied, nothing marked


def test_one_label_layout_and_one_rendering_for_the_three_files(tmp_path, monkeypatch):
    """The after panel's labels are laid out once (adjustText); the before panel puts each place
    label where the after panel does; the figure is rendered once and cut into its halves."""
    result = run_scenario(DEMO_SCENARIO)
    layouts, renderings = [], []
    monkeypatch.setattr(maps, "adjust_text", lambda texts, **kw: layouts.append(len(texts)) or adjust_text(texts, **kw))
    draw = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda fig, renderer: renderings.append(fig) or draw(fig, renderer))
    figure = draw_maps(result)
    after, before = figure.panels["damaged"], figure.panels["baseline"]
    assert layouts == [len(after.labels)] and len(after.labels) > len(before.labels) > 0
    places_after = after.labels[len(after.labels) - len(before.labels):]
    for text, placed in zip(before.labels, places_after, strict=True):
        assert text.get_position() == placed.get_position() and placed.get_text().startswith(text.get_text())
    assert not renderings  # laid out without a draw
    layouts.clear()
    write_maps(result, tmp_path)
    assert len(layouts) == 1 and len(renderings) == 1


def test_maps_drawn_with_unhinted_text_and_the_setting_restored(tmp_path, monkeypatch):
    """The figure is laid out and rendered with ``MAP_RC`` (unhinted glyphs); the caller's
    matplotlib settings are as they were afterwards."""
    result = run_scenario(DEMO_SCENARIO)
    seen = []
    draw = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda fig, renderer: seen.append(mpl.rcParams["text.hinting"])
                        or draw(fig, renderer))
    before = mpl.rcParams["text.hinting"]
    assert before != "no_hinting"
    write_maps(result, tmp_path)
    assert seen == ["no_hinting"] and mpl.rcParams["text.hinting"] == before


def test_road_network_joined_into_few_paths():
    lines = [LineString([(i, 0), (i, 1), (i + 0.5, 2)]) for i in range(7)]
    joined = maps._joined([*lines, MultiLineString([[(9, 9), (9, 10)], [(8, 8), (8, 9)]])])
    assert len(joined) == 1 and np.isnan(joined[0][:, 0]).sum() == 8  # 9 lines (one multi-line of 2): 8 breaks
    assert np.array_equal(joined[0][~np.isnan(joined[0][:, 0])],
                          np.vstack([np.asarray(g.coords) for g in lines] + [[(9, 9), (9, 10), (8, 8), (8, 9)]]))
    many = maps._joined([LineString([(i, 0), (i, 1)]) for i in range(maps.PATH_VERTICES)])  # 2 vertices a line
    assert len(many) == 2 and all(not np.isnan(part[0, 0]) for part in many)
    assert sum(int((~np.isnan(part[:, 0])).sum()) for part in many) == 2 * maps.PATH_VERTICES


def test_png_bytes_are_the_pixels_and_the_dpi(tmp_path):
    rgba = np.random.default_rng(1).integers(0, 256, size=(37, 53, 4), dtype=np.uint8)
    path = tmp_path / "x.png"
    path.write_bytes(maps.png_bytes(rgba[2:, 5:, :3], 110))  # a view of RGBA pixels, as write_maps passes
    with Image.open(path) as image:
        image.verify()  # chunk CRCs and the end of the file
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "RGB" and np.array_equal(np.asarray(image), rgba[2:, 5:, :3])
        assert [round(v) for v in image.info["dpi"]] == [110, 110]
    assert mpimg.imread(path).shape == (35, 48, 3)
    with pytest.raises(ValueError, match="x 3 uint8"):
        maps.png_bytes(rgba, 110)


def test_written_files_are_the_rendered_pixels(tmp_path):
    """map_compare.png holds exactly the pixels Agg rendered (RGB, alpha left out) at ``DPI``;
    map_before.png and map_after.png are the pixels of its two subfigures."""
    result = run_scenario(DEMO_SCENARIO)
    with mpl.rc_context(maps.MAP_RC):
        figure = draw_maps(result)
        figure.figure.canvas.draw()
    rendered = np.asarray(figure.figure.canvas.buffer_rgba())
    assert (rendered[..., 3] == 255).all()  # opaque: nothing lost with the alpha channel
    before, after, both = write_maps(result, tmp_path)
    images = {}
    for path in (before, after, both):
        with Image.open(path) as image:
            assert image.mode == "RGB" and [round(v) for v in image.info["dpi"]] == [maps.DPI, maps.DPI]
            images[path.name] = np.asarray(image)
    assert np.array_equal(images["map_compare.png"], rendered[..., :3])
    height, width = rendered.shape[:2]
    for name, state in (("map_before.png", "baseline"), ("map_after.png", "damaged")):
        corners = np.round(figure.subfigures[state].bbox.get_points()).astype(int)
        (x0, y0), (x1, y1) = np.clip(corners, 0, [width, height])  # a subfigure's edge may lie a pixel outside
        assert np.array_equal(images[name], rendered[height - y1:height - y0, x0:x1, :3]), name
