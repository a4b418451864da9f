"""`dcctl ticket render`: the Typer sub-app the main CLI mounts as `ticket`.

Exit 0 when the change is on its branch (or written with --no-branch), exit 1
with one reason per line, naming the ticket field, when it cannot be fulfilled.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from dcctl.output import console, emit_json, err_console
from dcctl.tickets.errors import TicketRefused

ticket_app = typer.Typer(
    help="Render OPD request tickets into reviewed spec changes.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@ticket_app.callback()
def _group() -> None:
    """Render OPD request tickets into reviewed spec changes.

    A callback keeps `render` a sub-command even while it is the only one.
    """


_SYMBOL = {"create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red")}


class TicketOutput(StrEnum):
    text = "text"
    json = "json"


@ticket_app.command()
def render(
    ticket: Annotated[Path, typer.Argument(help="Ticket file (YAML or JSON)")],
    repo: Annotated[Path, typer.Option("--repo", "-r", help="Spec repo (a Git clone)")] = Path("."),
    no_branch: Annotated[
        bool,
        typer.Option("--no-branch", help="Write the change into the working tree, no Git branch"),
    ] = False,
    output: Annotated[
        TicketOutput, typer.Option("--output", "-o", help="text or json")
    ] = TicketOutput.text,
) -> None:
    """Render a ticket onto its OPD's file, validate, and commit it on branch ticket/<nomor>."""
    from dcctl.tickets.render import render_ticket

    try:
        result = render_ticket(ticket, repo, branch=not no_branch)
    except TicketRefused as exc:
        if output == TicketOutput.json:
            emit_json(exc.to_dict())
        else:
            con = err_console()
            label = f"ticket {exc.ticket}" if exc.ticket else str(ticket)
            con.print(f"[red]refused[/red] {escape(label)}: it cannot be fulfilled as written")
            for r in exc.refusals:
                con.print(f"  {escape(str(r))}")
            con.print("Nothing was changed.")
        raise typer.Exit(1) from None
    if output == TicketOutput.json:
        emit_json(result.to_dict())
        return
    con = console()
    t = result.ticket
    where = (
        f"on branch {result.branch} ({(result.commit or '')[:10]})"
        if result.branch
        else "into the working tree (--no-branch)"
    )
    con.print(f"ticket {escape(t.nomor_tiket)} ({t.jenis}, {t.opd}) rendered {escape(where)}")
    for rel, (old, new) in result.files.items():
        n_old = len((old or "").splitlines())
        con.print(f"  {escape(rel)}: {n_old} -> {len(new.splitlines())} lines")
    con.print("plan:")
    for c in result.changes:
        sym, color = _SYMBOL[c.action]
        con.print(f"  [{color}]{sym} {c.layer} {escape(c.key)}[/{color}]")
    if result.branch:
        con.print(
            f"next: git push origin {escape(result.branch)} and open a merge request for review"
        )
