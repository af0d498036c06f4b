"""Scenarios: the file schema, the places/assets catalogue, the selector language, and where
events are applied to a network (:func:`apply_events`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

_EXPORTS = {
    ".catalogue": "Asset Catalogue Place load_catalogue",
    ".damage": "Damage EventOutcome Restriction apply_events incident_edges resolve_event",
    ".schema": "EvacuationSpec Event NetworkSpec Scenario expand_path scenario_path shipped_scenarios",
    ".selectors": "Selection area_from_spec area_selection select",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["Asset", "Catalogue", "Damage", "EvacuationSpec", "Event", "EventOutcome", "NetworkSpec", "Place",
           "Restriction", "Scenario", "Selection", "apply_events", "area_from_spec", "area_selection", "expand_path",
           "incident_edges", "load_catalogue", "resolve_event", "scenario_path", "select", "shipped_scenarios"]

if TYPE_CHECKING:
    from .catalogue import Asset, Catalogue, Place, load_catalogue
    from .damage import Damage, EventOutcome, Restriction, apply_events, incident_edges, resolve_event
    from .schema import EvacuationSpec, Event, NetworkSpec, Scenario, expand_path, scenario_path, shipped_scenarios
    from .selectors import Selection, area_from_spec, area_selection, select
