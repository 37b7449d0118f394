"""The score table of docs/SCORES.md from ``redcolor simulate NAME --policy all --json`` files.

Usage: ``python scripts/score_table.py OUT/*.json > docs/SCORES.md`` (docs/SCORES.md gives the
loop that writes the files). One row per scenario and policy: needed, missed, late (of which
late for the causal oracle too), needless, median lead and its ratio to the oracle's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

POLICIES = ("predicted", "radius", "zone", "oracle", "causal")


def rows(doc: dict) -> list[str]:
    """Markdown rows of one scenario's figures."""
    out = []
    for name in POLICIES:
        f = doc["policies"].get(name)
        if f is None:
            continue
        label = f"radius {f['radius_m'] / 1000:g} km" if "radius_m" in f else name
        lead = f["lead_time_s"]["median"]
        ratio = f.get("lead_time_ratio")
        cells = [
            doc["scenario"],
            label,
            f["needed"],
            f["missed"],
            f"{f['late']} / {f.get('late_unavoidable', '-')}",
            f["needless"],
            "-" if lead is None else f"{lead:g}",
            "-" if ratio is None else f"{ratio:.3f}",
            f"{f['shelter_area_minutes']:g}",
        ]
        out.append("| " + " | ".join(str(c) for c in cells) + " |")
    return out


def main(paths: list[str]) -> int:
    print(
        "| scenario | policy | needed | missed | late / unavoidable | needless | lead s | "
        "lead / oracle | shelter area-min |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        for row in rows(json.loads(Path(path).read_text(encoding="utf-8"))):
            print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
