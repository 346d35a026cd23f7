"""Latency graphs for Luo & Cheng's three layers: clients in user regions -> service nodes ->
compute sites (data centers).

Every latency here is a round-trip time (RTT) in milliseconds; distances are in km and
coordinates in decimal degrees.

Two sources of link latencies (:func:`latency_graph`):

- ``"coordinates"``: a complete graph over the places, each edge the fiber estimate
  ``2 x great-circle distance x route inflation / (200 km/ms)`` (cosim.fiber);
- ``"measured"``: a backbone of Azure regions joined by measured P50 RTTs (Microsoft's
  inter-region matrix, cosim.rtt_matrix); every place hangs off one backbone node by a
  fiber-estimate edge.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from cosim.errors import InputError
from cosim.fiber import FIBER_KM_PER_MS, ROUTE_INFLATION, fiber_rtt_ms
from cosim.rtt_matrix import backbone_coords, symmetric_rtt
from grids.geo import great_circle_km

__all__ = ["BACKBONE_PREFIX", "KINDS", "Place", "latency_graph", "path_latency_ms"]

KINDS = ("region", "service", "datacenter")
"""Kinds of :class:`Place`; backbone nodes of a measured graph have kind ``"backbone"``."""

BACKBONE_PREFIX = "azure:"
"""Node names of the measured backbone: ``"azure:<code>"``."""

_SCENARIO = "<scenario>"  # InputError source for in-memory places


@dataclass(frozen=True)
class Place:
    """A node of the latency graph: a user region's clients, a service node or a data center."""

    name: str
    """Unique node name, e.g. ``"region:Virginia"``, ``"service:Virginia"``, ``"dc:Virginia"``."""
    kind: str
    """``"region"``, ``"service"`` or ``"datacenter"``."""
    lat: float
    lon: float
    code: str | None = None
    """Measured graphs: the matrix code this place attaches to (None: the nearest backbone node)."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"place {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if not -90.0 <= self.lat <= 90.0 or not -180.0 <= self.lon <= 180.0:
            raise ValueError(f"place {self.name!r}: ({self.lat}, {self.lon}) is not a latitude, longitude")


def latency_graph(
    places: Sequence[Place],
    *,
    source: str = "coordinates",
    rtt: pd.DataFrame | None = None,
    route_inflation: float = ROUTE_INFLATION,
    km_per_ms: float = FIBER_KM_PER_MS,
    backbone: Mapping[str, tuple[float, float]] | None = None,
) -> nx.Graph:
    """Undirected latency graph: edge attribute ``rtt_ms``, node attributes ``kind``, ``lat``,
    ``lon`` (and ``code`` for backbone nodes and attached places).

    ``source="coordinates"``: a complete graph over *places*, every edge the fiber estimate
    of the great-circle distance (*rtt* is ignored).

    ``source="measured"``: backbone nodes ``"azure:<code>"`` for every code of *backbone*
    (code -> (lat, lon); default the coordinates of :data:`cosim.rtt_matrix.AZURE_REGIONS`) that
    appears in *rtt*, joined by the measured pair RTTs (:func:`cosim.rtt_matrix.symmetric_rtt`). Each place attaches to
    one backbone node, its ``code`` or else the nearest one (by great circle) that has a
    measured link, by a fiber-estimate edge; there are no direct place-place edges.
    """
    names = [p.name for p in places]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"place names must be unique: {twice} appear twice")
    graph = nx.Graph()
    for p in places:
        graph.add_node(p.name, kind=p.kind, lat=p.lat, lon=p.lon)
    if source == "coordinates":
        _add_coordinate_edges(graph, places, route_inflation, km_per_ms)
    elif source == "measured":
        if rtt is None:
            raise ValueError("source='measured' needs the RTT matrix (rtt=load_rtt_matrix(...))")
        _add_measured_backbone(graph, places, rtt, backbone_coords(backbone), route_inflation, km_per_ms)
    else:
        raise ValueError(f"unknown latency source {source!r}: expected 'coordinates' or 'measured'")
    return graph


def _add_coordinate_edges(graph: nx.Graph, places: Sequence[Place], inflation: float, km_per_ms: float) -> None:
    if not places:
        return
    lat = np.array([p.lat for p in places])
    lon = np.array([p.lon for p in places])
    rtt = fiber_rtt_ms(great_circle_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :]), inflation, km_per_ms)
    for i, j in zip(*np.triu_indices(len(places), k=1)):
        graph.add_edge(places[i].name, places[j].name, rtt_ms=float(rtt[i, j]))


def _add_measured_backbone(
    graph: nx.Graph,
    places: Sequence[Place],
    rtt: pd.DataFrame,
    coords: dict[str, tuple[float, float]],
    inflation: float,
    km_per_ms: float,
) -> None:
    sym = symmetric_rtt(rtt)
    codes = [c for c in sym.index if c in coords]
    node = {c: f"{BACKBONE_PREFIX}{c}" for c in codes}
    clash = sorted(set(node.values()) & {p.name for p in places})
    if clash:
        raise ValueError(f"place names {clash} collide with backbone node names")
    for c in codes:
        graph.add_node(node[c], kind="backbone", lat=coords[c][0], lon=coords[c][1], code=c)
    values = sym.loc[codes, codes].to_numpy()
    for i, j in zip(*np.triu_indices(len(codes), k=1)):
        if np.isfinite(values[i, j]):
            graph.add_edge(node[codes[i]], node[codes[j]], rtt_ms=float(values[i, j]))

    for p in places:
        if p.code is None:
            continue
        if p.code not in coords:
            raise InputError(_SCENARIO, f"place {p.name!r}", f"code {p.code!r} is not a known backbone region")
        if p.code not in node:
            raise InputError(_SCENARIO, f"place {p.name!r}", f"code {p.code!r} is not in the RTT matrix")
        if graph.degree(node[p.code]) == 0:
            raise InputError(
                _SCENARIO, f"place {p.name!r}", f"code {p.code!r} has no measured RTT to another backbone region"
            )

    # a backbone node without a measured link would leave its nearest places disconnected
    linked = [c for c in codes if graph.degree(node[c]) > 0]
    if not linked:
        raise ValueError("the RTT matrix has no measured pair between two backbone codes")
    lat = np.array([coords[c][0] for c in linked])
    lon = np.array([coords[c][1] for c in linked])
    for p in places:
        code = p.code if p.code is not None else linked[int(np.argmin(great_circle_km(p.lat, p.lon, lat, lon)))]
        graph.nodes[p.name]["code"] = code
        distance = great_circle_km(p.lat, p.lon, *coords[code])
        graph.add_edge(p.name, node[code], rtt_ms=fiber_rtt_ms(distance, inflation, km_per_ms))


def path_latency_ms(graph: nx.Graph, sources: Sequence[str], targets: Sequence[str]) -> np.ndarray:
    """(len(sources), len(targets)) shortest-path RTT in ms over edge weight ``rtt_ms``:
    0 from a node to itself, inf when disconnected. One Dijkstra run per distinct source."""
    missing = [n for n in [*sources, *targets] if n not in graph]
    if missing:
        raise ValueError(f"not nodes of the latency graph: {sorted(set(missing))}")
    out = np.full((len(sources), len(targets)), np.inf)
    done: dict[str, np.ndarray] = {}
    for i, s in enumerate(sources):
        if s not in done:
            lengths = nx.single_source_dijkstra_path_length(graph, s, weight="rtt_ms")
            done[s] = np.array([lengths.get(t, np.inf) for t in targets], dtype=float)
        out[i] = done[s]
    return out
