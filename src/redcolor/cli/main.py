"""Entry point: builds the typer app from the per-stage command modules and turns every error
into one line on stderr and an exit code (2 for bad input), never a traceback."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console
from typer._click.exceptions import NoArgsIsHelpError

from redcolor.cli import (
    areas,
    edge,
    keys,
    score,
    serve,
    sim,
    simulate,
    sirens,
    tokens,
    track,
    users,
)
from redcolor.errors import RedcolorError

app = typer.Typer(
    name="redcolor",
    help="Rocket and missile early warning: simulate, track, warn, serve alerts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Rocket and missile early warning: simulate, track, warn, serve alerts."""


for _module in (areas, sim, track, simulate, score, serve, edge, sirens, tokens, users, keys):
    _module.register(app)


@app.command()
def version() -> None:
    """Print the redcolor version."""
    from redcolor import __version__

    typer.echo(__version__)


_err = Console(stderr=True, soft_wrap=True, highlight=False)


def _one_line(message: str) -> str:
    return " ".join(message.split())


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (also used by tests)."""
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="redcolor", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        _err.print("redcolor: aborted")
        return 130
    except NoArgsIsHelpError as exc:  # `redcolor` or a group with no command: show its help
        typer.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        return 0
    except typer.TyperException as exc:  # usage errors: bad option, bad value, missing argument
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        _err.print(f"redcolor: error: {_one_line(message)}", markup=False)
        return 2
    except RedcolorError as exc:
        _err.print(f"redcolor: error: {_one_line(str(exc))}", markup=False)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line for the user, the traceback on request
        if os.environ.get("REDCOLOR_DEBUG"):
            raise
        _err.print(
            f"redcolor: internal error: {type(exc).__name__}: {_one_line(str(exc))}"
            " (set REDCOLOR_DEBUG=1 for the traceback)",
            markup=False,
        )
        return 70
    return rv if isinstance(rv, int) else 0


def run() -> None:  # pragma: no cover - thin wrapper for the console script
    sys.exit(main())
