"""Benchmark of the live alert map (issue 7): is the page responsive under a big barrage?

The real server (``redcolor.serve``) follows a real SQLite store; headless Debian Chromium opens
the map with all 1,450 areas drawn; then a 3,000-projectile barrage is written to the store the
way the pipeline writes it (an ``alert`` per projectile over 1-6 areas near a random impact
point, an ``update`` adding areas for ~30% of them, an ``ended`` 20 s after the alert), spread
over ``BARRAGE_S`` seconds, while the map is panned once a second (full redraws).

Measured in the page, against an idle baseline of the same page in the same run:
frame intervals (requestAnimationFrame), long tasks (> 50 ms), time per batched map/list update,
time to fold one event into the state, and each event's age when drawn (issued -> painted,
which includes the store, the server's poll and the WebSocket). Medians and tails are printed
and written to ``bench/results/map.json``; ``bench/results/map.png`` plots them.

``--from-db FILE --speed X`` replays a stored run instead, X times faster than it was issued,
e.g. the pipeline's own barrage: ``redcolor simulate barrage-3000 --db b3000.db`` (about 3
minutes here), then ``bench/bench_map.py --from-db b3000.db --speed 20`` (results in
``map-stored-run.json`` / ``.png``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import matplotlib
import msgspec

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import uvicorn
from playwright.sync_api import sync_playwright
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from redcolor.alerts.store import SQLiteEventStore
from redcolor.geo import load_areas
from redcolor.model import AlertArea, AlertEvent
from redcolor.serve.app import create_app
from redcolor.serve.run import build_state, uvicorn_config
from redcolor.serve.state import ServeConfig

PROJECTILES = 3000
BARRAGE_S = 60.0  # launches spread over this many seconds of wall-clock time
ENDED_AFTER_S = 20.0  # all-clear this long after each alert
UPDATE_SHARE = 0.3
IDLE_S = 5.0
TICK_S = 0.05  # the writer appends what is due every tick, one transaction per tick
SEED = 7
SCREENSHOT_AT_S = 30  # a picture of the map this far into the barrage
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RESULTS = Path(__file__).resolve().parent / "results"

RECORDER_JS = """() => {
  window.__frames = [];
  window.__longtasks = [];
  const loop = (t) => { window.__frames.push(t); requestAnimationFrame(loop); };
  requestAnimationFrame(loop);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask' });
}"""
MARK_JS = """() => ({ now: performance.now(), frames: window.__frames.length,
  longtasks: window.__longtasks.length, flushes: window.redcolor.metrics.flushMs.length,
  ages: window.redcolor.metrics.drawnAgeS.length, events: window.redcolor.metrics.events,
  applyMs: window.redcolor.metrics.applyMs })"""
COLLECT_JS = """() => ({ frames: window.__frames, longtasks: window.__longtasks,
  flushMs: window.redcolor.metrics.flushMs, ages: window.redcolor.metrics.drawnAgeS,
  events: window.redcolor.metrics.events, applyMs: window.redcolor.metrics.applyMs,
  duplicates: window.redcolor.metrics.duplicates })"""


def event(alert_id: str, stage: str, ids: list[int], areas) -> AlertEvent:
    return AlertEvent(
        id=alert_id,
        seq=0,
        category="missiles",
        stage=stage,
        areas=tuple(AlertArea(a, areas.get(a).shelter_s) for a in ids),
        issued_at_unix_s=0.0,
        expires_at_unix_s=None,
        source=(alert_id,),
        instructions={"en": "Enter a protected space"},
    )


def synthetic_barrage(areas, rng: random.Random) -> list[tuple[float, AlertEvent]]:
    """(offset s, event) for the whole synthetic barrage, in time order."""
    all_ids = [a.id for a in areas.areas]
    plan = []
    for n in range(PROJECTILES):
        launch_s = rng.uniform(0.0, BARRAGE_S)
        target = areas.get(rng.choice(all_ids))
        near = [int(i) for i in areas.within_m(target.lat, target.lon, 2500.0)]
        rng.shuffle(near)
        hit = sorted(set([target.id, *near[: rng.randint(0, 5)]]))
        alert_id = f"barrage-{n}"
        plan.append((launch_s, event(alert_id, "alert", hit, areas)))
        if rng.random() < UPDATE_SHARE and len(near) > len(hit):
            extra = [i for i in near if i not in hit][: rng.randint(1, 2)]
            plan.append((launch_s + 3.0, event(alert_id, "update", extra, areas)))
            hit = hit + extra
        plan.append((launch_s + ENDED_AFTER_S, event(alert_id, "ended", hit, areas)))
    plan.sort(key=lambda p: p[0])
    return plan


def stored_run(db: Path, speed: float) -> list[tuple[float, AlertEvent]]:
    """(offset s, event) replaying a stored run (e.g. `redcolor simulate barrage-3000 --db`)
    ``speed`` times faster than it was issued."""
    store = SQLiteEventStore(db, readonly=True)
    events = [row.decode() for row in store.read_since(0, 10**7)]
    store.close()
    if not events:
        raise SystemExit(f"{db}: no events")
    t0 = min(e.issued_at_unix_s for e in events)
    plan = [((e.issued_at_unix_s - t0) / speed, e) for e in events]
    plan.sort(key=lambda p: p[0])
    return plan


def write_barrage(store: SQLiteEventStore, plan, progress: Progress) -> None:
    """Append the plan's events as they fall due (one transaction per tick), stamped with the
    time they are written."""
    task = progress.add_task("barrage events written", total=len(plan))
    t0 = time.time()
    i = 0
    while i < len(plan):
        now_s = time.time() - t0
        batch = []
        while i < len(plan) and plan[i][0] <= now_s:
            batch.append(
                msgspec.structs.replace(
                    plan[i][1], seq=0, issued_at_unix_s=time.time(), expires_at_unix_s=None
                )
            )
            i += 1
        if batch:
            store.append(batch)
            progress.advance(task, len(batch))
        time.sleep(TICK_S)


def quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return {
        "n": len(values),
        "median": statistics.median(ordered),
        "p95": q(0.95),
        "p99": q(0.99),
        "max": ordered[-1],
    }


def frame_intervals(frames: list[float], start_ms: float, end_ms: float) -> list[float]:
    inside = [f for f in frames if start_ms <= f <= end_ms]
    return [b - a for a, b in itertools.pairwise(inside)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--from-db",
        type=Path,
        help="replay this stored run instead of the synthetic barrage "
        "(e.g. from `redcolor simulate barrage-3000 --db FILE`)",
    )
    parser.add_argument("--speed", type=float, default=10.0, help="replay speed for --from-db")
    args = parser.parse_args()
    console = Console()
    name = "map" if not args.from_db else "map-stored-run"
    RESULTS.mkdir(exist_ok=True)
    areas = load_areas("current")
    if args.from_db:
        plan = stored_run(args.from_db, args.speed)
        source = f"{args.from_db.name} replayed at {args.speed:g}x"
    else:
        plan = synthetic_barrage(areas, random.Random(SEED))
        source = f"synthetic: {PROJECTILES} projectiles over {BARRAGE_S:g} s"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        db = Path(tmp) / "barrage.db"
        writer = SQLiteEventStore(db)
        state = build_state(ServeConfig(db=db, poll_s=0.01), areas)
        server = uvicorn.Server(uvicorn_config(create_app(state), host="127.0.0.1", port=0))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        origin = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        started = time.perf_counter()
        page.goto(origin + "/")
        page.wait_for_function("() => window.redcolor && window.redcolor.ready", timeout=30000)
        load_ms = (time.perf_counter() - started) * 1000  # to all areas drawn, stream started
        page.evaluate(RECORDER_JS)
        panning = threading.Event()

        with Progress(console=console) as progress:
            idle_task = progress.add_task("idle baseline", total=IDLE_S)
            idle = page.evaluate(MARK_JS)
            for _ in range(int(IDLE_S * 4)):
                page.wait_for_timeout(250)
                progress.advance(idle_task, 0.25)
            busy = page.evaluate(MARK_JS)
            writing = threading.Thread(
                target=write_barrage, args=(writer, plan, progress), daemon=True
            )
            writing.start()
            panning.set()
            step = 0
            while writing.is_alive():  # a visitor pans once a second during the barrage
                step += 1
                page.evaluate(
                    "(dx) => { window.redcolor.map.panBy([dx, 0], {animate: false}); }",
                    60 if step % 2 else -60,
                )
                page.wait_for_timeout(1000)
                if step == SCREENSHOT_AT_S:
                    page.screenshot(path=str(RESULTS / f"{name}-barrage.png"))
            last_seq = writer.last_seq()
            page.wait_for_function(
                "(seq) => window.redcolor.live.lastSeq >= seq", arg=last_seq, timeout=60000
            )
            page.wait_for_timeout(500)
            done = page.evaluate(MARK_JS)
            data = page.evaluate(COLLECT_JS)
        browser.close()
        server.should_exit = True
        thread.join(10)
        writer.close()

    idle_frames = frame_intervals(data["frames"], idle["now"], busy["now"])
    busy_frames = frame_intervals(data["frames"], busy["now"], done["now"])
    busy_longtasks = [d for s, d in data["longtasks"] if busy["now"] <= s <= done["now"]]
    flushes = data["flushMs"][busy["flushes"] :]
    ages_ms = [a * 1000 for a in data["ages"][busy["ages"] :]]
    events = data["events"] - busy["events"]
    apply_us = (data["applyMs"] - busy["applyMs"]) * 1000 / max(1, events)
    result = {
        "source": source,
        "page_ready_ms": load_ms,
        "events": events,
        "duplicates": data["duplicates"],
        "areas_drawn": 1450,
        "frame_interval_ms": {"idle": quantiles(idle_frames), "barrage": quantiles(busy_frames)},
        "frame_median_ratio_barrage_vs_idle": statistics.median(busy_frames)
        / statistics.median(idle_frames),
        "long_tasks": {
            "count": len(busy_longtasks),
            "total_ms": sum(busy_longtasks),
            "max_ms": max(busy_longtasks, default=0.0),
        },
        "update_ms": quantiles(flushes),
        "apply_us_per_event": apply_us,
        "issued_to_drawn_ms": quantiles(ages_ms),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    report(console, result)
    plot(busy["now"], data, busy_frames, ages_ms, RESULTS / f"{name}.png")


def report(console: Console, r: dict) -> None:
    table = Table(title=f"live map under a barrage ({r['source']})")
    for col in ("measure", "median", "p95", "p99", "max"):
        table.add_column(col, justify="right" if col != "measure" else "left")
    rows = [
        ("frame interval idle (ms)", r["frame_interval_ms"]["idle"]),
        ("frame interval barrage (ms)", r["frame_interval_ms"]["barrage"]),
        ("batched update (ms)", r["update_ms"]),
        ("issued -> drawn (ms)", r["issued_to_drawn_ms"]),
    ]
    for name, q in rows:
        table.add_row(name, *(f"{q.get(k, 0):.1f}" for k in ("median", "p95", "p99", "max")))
    console.print(table)
    lt = r["long_tasks"]
    console.print(
        f"page ready (1,450 areas drawn, stream started) in {r['page_ready_ms']:.0f} ms; "
        f"{r['events']:,} events ({r['duplicates']} duplicates), "
        f"{r['apply_us_per_event']:.1f} µs to fold one event; frame median barrage/idle "
        f"{r['frame_median_ratio_barrage_vs_idle']:.2f}x; long tasks {lt['count']} "
        f"(total {lt['total_ms']:.0f} ms, max {lt['max_ms']:.0f} ms)"
    )


def plot(
    start_ms: float, data: dict, busy_frames: list[float], ages_ms: list[float], path: Path
) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    frames = [f for f in data["frames"] if f >= start_ms]
    left.plot([(b - start_ms) / 1000 for b in frames[1:]], busy_frames[: len(frames) - 1], lw=0.6)
    left.set(xlabel="time since barrage start (s)", ylabel="frame interval (ms)")
    left.set_title("frame intervals during the barrage")
    right.hist(ages_ms, bins=60)
    right.set(xlabel="event issued -> drawn on the map (ms)", ylabel="events")
    right.set_title("end-to-end delay per event")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
