"""Pictures: range tables and a scenario overview (matplotlib, Agg backend, PNG files)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from redcolor.sim.aim import range_table
from redcolor.sim.run import SimulationResult


def plot_range_tables(names: list[str], path: Path) -> None:
    """Range, flight time and apogee against elevation, one line per projectile."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for name in names:
        t = range_table(name)
        axes[0].plot(t.elevation_deg, t.range_m / 1e3, label=name)
        axes[1].plot(t.range_m / 1e3, t.flight_time_s, label=name)
        axes[2].plot(t.range_m / 1e3, t.apogee_agl_m / 1e3, label=name)
    for ax, (x, y) in zip(
        axes,
        [
            ("elevation (deg)", "range (km)"),
            ("range (km)", "flight time (s)"),
            ("range (km)", "apogee above ground (km)"),
        ],
        strict=True,
    ):
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.grid(alpha=0.3)
    if len(names) > 1:
        axes[0].set_yscale("log")
        for ax in axes[1:]:
            ax.set_xscale("log")
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    fig.suptitle("redcolor range tables (nominal rounds, sea level, no wind)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_overview(result: SimulationResult, path: Path, max_tracks: int = 400) -> None:
    """Ground tracks, launch and impact points and radars of a flown scenario (lat/lon)."""
    fig, ax = plt.subplots(figsize=(8, 8))
    samples = list(result.trajectory_samples(step_s=2.0))
    stride = max(1, len(samples) // max_tracks)
    for s in samples[::stride]:
        lla = np.asarray(s["lat_lon_alt"])
        ax.plot(lla[:, 1], lla[:, 0], lw=0.5, color="tab:gray", alpha=0.6)
    ax.scatter(
        [r.launch.lon for r in result.truth],
        [r.launch.lat for r in result.truth],
        s=6,
        color="tab:blue",
        label="launch",
    )
    ax.scatter(
        [r.impact.lon for r in result.truth],
        [r.impact.lat for r in result.truth],
        s=6,
        color="tab:red",
        label="impact",
    )
    ax.scatter(
        [r.lon for r in result.registrations],
        [r.lat for r in result.registrations],
        marker="^",
        s=60,
        color="tab:green",
        label="radar",
    )
    for r in result.registrations:
        ax.annotate(r.id, (r.lon, r.lat), fontsize=8)
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    ax.set_aspect(1.0 / np.cos(np.radians(result.origin[0])), adjustable="datalim")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    ax.set_title(f"{result.scenario.name}: {len(result.truth)} projectiles")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
