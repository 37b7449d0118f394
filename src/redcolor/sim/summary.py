"""Plain-data summaries of scenarios and range tables, for the CLI and for people."""

from __future__ import annotations

from typing import Any

import numpy as np

from redcolor.errors import ScenarioError
from redcolor.geo.frame import LocalFrame
from redcolor.physics.ballistics import EarthModel
from redcolor.physics.catalogue import CATALOGUE, get_projectile
from redcolor.sim.aim import range_table
from redcolor.sim.salvo import choose_branch
from redcolor.sim.scenario import Scenario


def range_table_rows(name: str, step_deg: float = 5.0) -> list[dict[str, float]]:
    """Nominal range table of a projectile (sea level, no wind) every ``step_deg`` degrees of
    elevation, plus the maximum-range row; ranges in km, apogee in km above the ground."""
    table = range_table(name)
    lo, hi = get_projectile(name).elevation_deg
    wanted = set(np.round(np.arange(np.ceil(lo / step_deg) * step_deg, hi + 1e-9, step_deg), 6))
    wanted |= {round(float(table.elevation_deg[table.best]), 6)}
    rows = []
    for i, el in enumerate(table.elevation_deg):
        if round(float(el), 6) in wanted:
            rows.append(
                {
                    "elevation_deg": round(float(el), 2),
                    "range_km": round(float(table.range_m[i]) / 1e3, 2),
                    "flight_time_s": round(float(table.flight_time_s[i]), 1),
                    "apogee_km": round(float(table.apogee_agl_m[i]) / 1e3, 2),
                    "impact_speed_m_s": round(float(table.impact_speed_m_s[i])),
                    "max_range": i == table.best,
                }
            )
    return rows


def catalogue_summary() -> list[dict[str, Any]]:
    """One row per catalogue entry: the published figures and the model's maximum range."""
    rows = []
    for p in CATALOGUE.values():
        model_max = None if p.kind == "drone" else round(range_table(p.name).max_range_m / 1e3, 2)
        rows.append(
            {
                "name": p.name,
                "kind": p.kind,
                "description": p.description,
                "mass_kg": p.mass_kg,
                "max_range_km": round(p.max_range_m / 1e3, 1),
                "model_max_range_km": model_max,
                "beta_kg_m2": None if p.kind == "drone" else round(p.beta_kg_m2),
                "danger_radius_m": p.danger_radius_m,
                "source": p.source,
                "assumptions": p.assumptions,
            }
        )
    return rows


def scenario_summary(scenario: Scenario) -> dict[str, Any]:
    """What a scenario contains: radars, and per salvo the distance and the nominal shot."""
    ground = scenario.ground_alt_m
    frame = LocalFrame(*scenario.origin, ground)
    earth = EarthModel(*scenario.origin, ground)
    radars_enu = [
        np.column_stack(frame.enu_from_geodetic(r.registration.lat, r.registration.lon, ground))[0]
        for r in scenario.radars
    ]
    salvos = []
    for i, s in enumerate(scenario.salvos):
        pts = np.column_stack(
            frame.enu_from_geodetic(
                [s.launch.lat_deg, s.target.lat_deg], [s.launch.lon_deg, s.target.lon_deg], ground
            )
        )
        dist = float(earth.ground_range_m(pts[0], pts[1]))
        p = get_projectile(s.projectile)
        radar_km = [
            float(earth.ground_range_m(pts[0], radar_pos)) / 1e3 for radar_pos in radars_enu
        ]
        row: dict[str, Any] = {
            "salvo": i,
            "projectile": s.projectile,
            "count": s.count,
            "at_s": s.at_s,
            "over_s": s.over_s,
            "distance_km": round(dist / 1e3, 2),
            "nearest_radar_km": round(min(radar_km), 1) if radar_km else None,
        }
        if p.kind != "drone":
            branch = choose_branch(s, p, dist, ground)
            try:
                el, tof, apogee = range_table(p.name, ground).at_range(dist, branch)
            except ScenarioError as exc:
                raise ScenarioError(f"{scenario.source}: salvo[{i}]: {exc}") from None
            row |= {
                "trajectory": branch,
                "elevation_deg": round(el, 1),
                "flight_time_s": round(tof, 1),
                "apogee_km": round(apogee / 1e3, 2),
            }
        else:
            row |= {"waypoints": len(s.waypoints)}
        salvos.append(row)
    return {
        "name": scenario.name,
        "description": scenario.description,
        "source": scenario.source,
        "seed": scenario.seed,
        "start_unix_s": scenario.start_unix_s,
        "ground_alt_m": ground,
        "origin": {"lat": scenario.origin[0], "lon": scenario.origin[1]},
        "wind": {"speed_m_s": scenario.wind_speed_m_s, "from_deg": scenario.wind_from_deg},
        "projectiles": sum(s.count for s in scenario.salvos),
        "radars": [
            {
                "id": r.registration.id,
                "lat": r.registration.lat,
                "lon": r.registration.lon,
                "alt_m": r.registration.alt_m,
                "max_range_km": r.registration.max_range_km,
                "detection_probability": r.registration.detection_probability,
            }
            for r in scenario.radars
        ],
        "salvos": salvos,
    }
