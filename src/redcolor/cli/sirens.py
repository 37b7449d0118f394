"""`redcolor sirens` commands."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import typer
from rich.console import Console

from redcolor.errors import InputError


def _parse_ids(text: str) -> list[int]:
    try:
        ids = [int(a) for a in text.split(",") if a.strip()]
    except ValueError:
        raise InputError(f"bad --areas {text!r}: expected ids like 175,176") from None
    if not ids:
        raise InputError("--areas needs at least one area id")
    return ids


def _nearest(ws_url: str, near: str, count: int) -> list[int]:
    """The ``count`` areas nearest ``near``, from the server's own area list."""
    import httpx

    from redcolor.channels.siren_sim import nearest_area_ids

    try:
        lat, lon = (float(x) for x in near.split(","))
    except ValueError:
        raise InputError(f"bad --near {near!r}: expected lat,lon") from None
    http_url = "http" + ws_url.removeprefix("ws") + "/v1/areas"
    try:
        areas = httpx.get(http_url, timeout=10).raise_for_status().json()
    except httpx.HTTPError as exc:
        raise InputError(f"cannot read the area list from {http_url}: {exc}") from None
    return nearest_area_ids(areas, lat, lon, count)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    sirens = typer.Typer(help="Siren controllers.", no_args_is_help=True)
    app.add_typer(sirens, name="sirens")

    @sirens.command()
    def simulate(
        count: int = typer.Option(10, min=1, max=5000, help="How many siren controllers."),
        areas: str | None = typer.Option(
            None, help="Area ids to spread them over, e.g. 175,176 (default: see --near)."
        ),
        near: str = typer.Option(
            "32.996,35.414",
            help="Without --areas: one siren in each of the COUNT areas nearest this lat,lon "
            "(default Mount Meron, the demo scenario's target).",
        ),
        url: str = typer.Option("ws://127.0.0.1:8080", help="The redcolor server."),
        silent: int = typer.Option(0, min=0, help="How many never acknowledge."),
        duration_s: float | None = typer.Option(None, help="Stop after this many seconds."),
        db: Path | None = typer.Option(
            None,
            help="On the server's host: its alert store, where each simulated siren sim-N gets "
            "a fresh token bound to its area.",
        ),
        tokens_file: Path | None = typer.Option(
            None,
            help='Instead of --db: a JSON file {"siren id": "rc_...token"} from `redcolor '
            "tokens add`; each siren covers its token's areas (--count, --areas unused).",
        ),
    ) -> None:
        """Run COUNT simulated sirens that sound on alerts and acknowledge every command."""
        from websockets.exceptions import InvalidStatus

        from redcolor.channels.siren_sim import (
            fleet_summary,
            make_sirens,
            provision_tokens,
            sirens_from_file,
        )

        if (db is None) == (tokens_file is None):
            raise InputError("simulated sirens need tokens: give --db or --tokens-file")
        if tokens_file is not None:
            fleet = sirens_from_file(tokens_file, silent)
            count = len(fleet)
        else:
            if silent > count:
                raise InputError("--silent must be at most --count")
            area_ids = _parse_ids(areas) if areas is not None else _nearest(url, near, count)
            fleet = make_sirens(count, area_ids, silent)
            provision_tokens(db, fleet)
        console = Console()

        def show(siren, command) -> None:
            console.print(
                f"{siren.siren_id}: {command['action']} area {command['area_id']} "
                f"({command['duration_s']} s, alert {command['alert_id']}, seq {command['seq']})"
            )

        async def main() -> None:
            tasks = [asyncio.create_task(s.run(url, show)) for s in fleet]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*tasks), duration_s)

        console.print(f"{count} sirens -> {url} (Ctrl-C stops)")
        try:
            asyncio.run(main())
        except KeyboardInterrupt:  # the usual way to stop: still say what happened, exit 130
            console.print(f"interrupted: {fleet_summary(fleet)}")
            raise typer.Exit(130) from None
        except OSError as exc:
            raise InputError(f"cannot reach {url}: {exc}") from None
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise InputError(f"{url} refused a siren's connection: HTTP {status}") from None
        console.print(fleet_summary(fleet))
