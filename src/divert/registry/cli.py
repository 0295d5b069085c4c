"""`divert registry ...` commands (being built: issue 5)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="The programme registry: participants, tests, hearings.")
