"""Pictures of a tracking run: impact-point error against tracking time, GOSPA over time."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from redcolor.eval.track_score import TrackingReport


def plot_report(report: TrackingReport, path: Path) -> Path:
    """Write a two-panel PNG for ``report`` to ``path`` and return it."""
    fig = Figure(figsize=(11, 4.2))
    ax1, ax2 = fig.subplots(1, 2)
    if report.ipp_curve:
        age, err, _ = zip(*report.ipp_curve, strict=True)
        ax1.semilogy(age, err, marker=".", label="median over projectiles")
    for y, style in ((200.0, ":"), (100.0, "--")):
        ax1.axhline(y, color="grey", linestyle=style, linewidth=0.8)
    ax1.set_xlabel("seconds of tracking (since the track's first plot)")
    ax1.set_ylabel("impact-point error, m")
    ax1.set_title(f"{report.scenario}: impact-point error")
    ax1.grid(True, which="both", alpha=0.3)
    if report.gospa_series:
        t0 = report.gospa_series[0][0]
        ts, g = zip(*report.gospa_series, strict=True)
        ax2.plot([t - t0 for t in ts], g, linewidth=0.8)
    ax2.set_xlabel("seconds since the first scan")
    ax2.set_ylabel("GOSPA (c = 500 m, p = 2), m")
    ax2.set_title(f"GOSPA, mean {report.gospa_mean or 0:.0f} m")
    ax2.grid(True, alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
