"""`dcctl ticket render`: the Typer sub-app the main CLI mounts as `ticket`.

Exit 0 when the change is on its branch (or written with --no-branch), exit 1
with one reason per line, naming the ticket field, when it cannot be fulfilled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from dcctl import cliopts
from dcctl.cliopts import examples
from dcctl.i18n import N_, _
from dcctl.output import Output, console, emit, err_console, fail, output_option
from dcctl.tickets.errors import TicketRefused

ticket_app = cliopts.app(help="Render OPD request tickets into reviewed spec changes.")

RepoOpt = Annotated[
    Path | None,
    typer.Option("--repo", "-r", help="Spec repo (a Git clone); same as giving it first"),
]


def _repo_and(words: list[str], repo: Path | None, near: Path | None) -> Path:
    """The spec repo: `--repo`, else the one around the current folder, else around `near`."""
    from dcctl.spec.discovery import find_root

    if repo is not None:
        return cliopts.resolve_spec(repo)
    found = find_root(Path.cwd()) or (find_root(near) if near is not None else None)
    return cliopts.resolve_spec(found) if found is not None else Path(".")


@ticket_app.callback()
def _group() -> None:
    """Render OPD request tickets into reviewed spec changes.

    A callback keeps `render` a sub-command even while it is the only one.
    """


_SYMBOL = {"create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red")}


#: text, json or yaml (the one Output of every data command).
TicketOutput = Output


@ticket_app.command(
    epilog=examples(
        "dcctl ticket render . tickets/KOM-2025-0150.yaml",
        "dcctl ticket render tickets/KOM-2025-0150.yaml   # inside the spec repo",
        "dcctl ticket render ../spec vm-baru.yaml --no-branch -o json",
    )
)
def render(
    words: Annotated[
        list[str],
        typer.Argument(
            metavar="[PATH] TICKET",
            help="Spec repo (default: --repo, or the repo around the current folder or the "
            "ticket), then the ticket file (YAML or JSON)",
            show_default=False,
        ),
    ],
    repo: RepoOpt = None,
    no_branch: Annotated[
        bool,
        typer.Option("--no-branch", help="Write the change into the working tree, no Git branch"),
    ] = False,
    output: Annotated[TicketOutput, output_option()] = TicketOutput.text,
) -> None:
    """Render a ticket onto its OPD's file, validate, and commit it on branch ticket/<nomor>."""
    from dcctl.tickets.render import render_ticket

    if len(words) not in (1, 2) or (len(words) == 2 and repo is not None):
        err_console().print(
            escape(_("error: give [PATH] TICKET (the spec path once: first or --repo)"))
        )
        raise typer.Exit(1)
    ticket = Path(words[-1])
    repo = cliopts.resolve_spec(words[0]) if len(words) == 2 else _repo_and(words, repo, ticket)
    try:
        result = render_ticket(ticket, repo, branch=not no_branch)
    except TicketRefused as exc:
        if output.data:
            emit(exc.to_dict(), output, stderr=True)
        else:
            con = err_console()
            label = _("ticket {number}").format(number=exc.ticket) if exc.ticket else str(ticket)
            con.print(
                "[red]"
                + escape(_("refused"))
                + "[/red] "
                + escape(_("{ticket}: it cannot be fulfilled as written").format(ticket=label))
            )
            for r in exc.refusals:
                con.print(f"  {escape(str(r))}")
            con.print(escape(_("Nothing was changed.")))
        raise typer.Exit(1) from None
    if output.data:
        emit(result.to_dict(), output)
        return
    con = console()
    t = result.ticket
    where = (
        _("on branch {branch} ({commit})").format(
            branch=result.branch, commit=(result.commit or "")[:10]
        )
        if result.branch
        else _("into the working tree (--no-branch)")
    )
    con.print(
        escape(
            _("ticket {number} ({kind}, {opd}) rendered {where}").format(
                number=t.nomor_tiket, kind=t.jenis, opd=t.opd, where=where
            )
        )
    )
    for rel, (old, new) in result.files.items():
        n_old = len((old or "").splitlines())
        lines = _("{old} -> {new} lines").format(old=n_old, new=len(new.splitlines()))
        con.print(f"  {escape(rel)}: {lines}")
    con.print(_("plan:"))
    for c in result.changes:
        sym, color = _SYMBOL[c.action]
        con.print(f"  [{color}]{sym} {c.layer} {escape(c.key)}[/{color}]")
    if result.branch:
        con.print(
            escape(
                _("next: git push origin {branch} and open a merge request for review").format(
                    branch=result.branch
                )
            )
        )


#: A service-level verdict as a person reads it (the JSON keeps the English key).
_STATES = {"met": N_("met"), "missed": N_("missed"), "open": N_("open"), "overdue": N_("overdue")}


def _when(t: Any) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if t is not None else "-"


def _level(t: Any) -> str:
    from dcctl.tickets.status import human

    if t is None or t.state == "unknown":
        return _("unknown (no diterima)")
    if t.state == "overdue":
        return _("OVERDUE by {late}").format(late=human(t.took - t.limit))
    if t.state == "open":
        return _("open, due in {left}").format(left=human(t.limit - t.took))
    return _("{state} ({took})").format(state=_(_STATES.get(t.state, t.state)), took=human(t.took))


@ticket_app.command(
    epilog=examples(
        "dcctl ticket status",
        "dcctl ticket status examples/wonosobo tickets/ --now 2025-02-04T09:00+07:00",
        "dcctl ticket status . -o json",
    )
)
def status(
    words: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[PATH] [TICKETS]",
            help="Spec repo (default: --repo, or the repo around the current folder), then "
            "a ticket file or a folder of tickets (default: the repo's tickets/)",
            show_default=False,
        ),
    ] = None,
    repo: RepoOpt = None,
    main: Annotated[
        str | None,
        typer.Option("--main", help="Branch merges are counted on (default main, origin/main)"),
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="Evaluate at this time (ISO 8601), not now")
    ] = None,
    output: Annotated[TicketOutput, output_option()] = TicketOutput.text,
) -> None:
    """Each ticket's received, answered, merged and applied times against the service levels."""
    from datetime import datetime

    from rich.table import Table

    from dcctl.output import load_spec_or_exit
    from dcctl.spec.discovery import find_root
    from dcctl.tickets.status import ticket_status

    as_json = output.data
    words = list(words or [])
    if len(words) > 2 or (len(words) == 2 and repo is not None):
        err_console().print(
            escape(_("error: give [PATH] [TICKETS] (the spec path once: first or --repo)"))
        )
        raise typer.Exit(1)
    if len(words) == 2:
        repo, tickets = cliopts.resolve_spec(words[0]), Path(words[1])
    elif len(words) == 1 and repo is None and (Path(words[0]) / "site.yaml").is_file():
        repo, tickets = cliopts.resolve_spec(words[0]), None
    else:
        tickets = Path(words[0]) if words else None
        repo = _repo_and(words, repo, tickets)
    if tickets is None:
        tickets = repo / "tickets" if find_root(repo) is not None else Path("tickets")
    spec = load_spec_or_exit(repo, as_json)
    try:
        at = datetime.fromisoformat(now) if now else None
    except ValueError:
        raise fail(
            _("--now {value} is not an ISO 8601 time").format(value=repr(now or ""))
        ) from None
    if at is not None and at.tzinfo is None:
        raise fail(_("--now needs its UTC offset, e.g. 2025-02-04T09:00+07:00"))
    if not tickets.exists():
        raise fail(_("{path}: no such file or folder").format(path=tickets))
    levels = spec.site.service_levels
    rows, problems = ticket_status(tickets, spec.root, levels, at, main)
    if as_json:
        emit(
            {
                "service_levels": levels.model_dump(),
                "tickets": [r.to_dict() for r in rows],
                "problems": problems,
            },
            output,
        )
    else:
        table = Table(
            title=_("Requests: answer within {minutes} min, resolve within {hours} h").format(
                minutes=levels.answer_minutes, hours=levels.resolve_hours
            ),
            title_justify="left",
        )
        table.add_column(_("ticket"), no_wrap=True)
        for col in (
            _("OPD"),
            _("received"),
            _("answered"),
            _("merged"),
            _("applied"),
            _("answer"),
            _("resolve"),
        ):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(
                escape(r.number),
                r.opd,
                _when(r.received),
                _when(r.answered) + ("*" if r.answered_by == "render" else ""),
                _when(r.merged),
                _when(r.applied),
                _level(r.answer),
                _level(r.resolve),
            )
        console().print(table)
        if any(r.answered_by == "render" for r in rows):
            console().print(
                escape(_("* answered when its branch was rendered (no helpdesk reply time)"))
            )
        for p in problems:
            err_console().print("[red]" + escape(_("unreadable")) + f"[/red] {escape(p)}")
    if problems:
        raise typer.Exit(1)
