"""`dcctl switch backup|diff|push`: one switch (or all) without running every layer.

Why a separate command group: switch changes are the riskiest layer (a wrong
trunk cuts a whole building off), so operators need to look at one switch's
delta, take a backup, or push a single switch without running every layer.
The commands only parse and render; the work is the switch layer's
(:mod:`dcctl.engines.switches.layer`), the same code `dcctl apply` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.markup import escape
from rich.table import Table

from dcctl import cliopts
from dcctl.cliopts import OutputOpt, TargetOpt, examples
from dcctl.engines.switches.engine import SwitchResult
from dcctl.engines.switches.layer import (
    apply_switches,
    backup_switches,
    plan_switches,
)
from dcctl.i18n import N_, _, number
from dcctl.output import (
    Output,
    Target,
    confirm_or_exit,
    console,
    emit,
    err_console,
    fail,
    load_spec_or_exit,
)

if TYPE_CHECKING:
    from dcctl.spec.loader import Spec

# --------------------------------------------------------------------------
# Commands

switch_app = cliopts.app(
    name="switch",
    help="Back up, diff and push switch configurations (IOS, RouterOS, VRP).",
)


#: `[PATH] [NAME]`: the spec path first like every command, and left out inside a repo.
WordsArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[PATH] [NAME]",
        help="Spec repo (default: the repo around the current folder), then a switch name",
        autocompletion=cliopts.complete_switch,
        show_default=False,
    ),
]
AllOpt = Annotated[bool, typer.Option("--all", help="Every switch in the spec")]
SpecOpt = Annotated[
    Path | None,
    typer.Option("--spec", help="Deprecated: give the spec path first instead", hidden=True),
]

_STYLE = {
    "changed": "green",
    "planned": "yellow",
    "unchanged": "dim",
    "backed_up": "green",
    "rolled_back": "red",
    "failed": "red",
    "skipped": "yellow",
}

#: A switch's result as a person reads it; the JSON keeps the English status.
_STATUS = {
    "changed": N_("changed"),
    "planned": N_("planned"),
    "unchanged": N_("unchanged"),
    "backed_up": N_("backed_up"),
    "rolled_back": N_("rolled_back"),
    "failed": N_("failed"),
    "skipped": N_("skipped"),
}


def _status(status: str) -> str:
    """``status`` in the language in force (unknown ones as they are)."""
    return _(_STATUS[status]) if status in _STATUS else status


def _load(path: Path, as_json: bool) -> Spec:
    return cast("Spec", load_spec_or_exit(path, as_json))


def _target_switches(
    words: list[str] | None, all_: bool, spec: Path | None
) -> tuple[Path, list[str] | None]:
    """The spec path and the switches named: `[PATH] [NAME]` or `--all`.

    The old spelling `NAME --spec PATH` still works, with a note on stderr.
    """
    if spec is not None:
        err_console().print(
            escape(
                _(
                    "note: --spec is deprecated; give the spec path first: "
                    "dcctl switch ... {path} [NAME]"
                ).format(path=spec)
            )
        )
        path, names = cliopts.resolve_spec(spec), list(words or [])
    else:
        path, names = cliopts.split_spec_words(words)
    if len(names) > 1:
        raise fail(_("one switch NAME at a time (got {names})").format(names=" ".join(names)))
    if all_ == bool(names):
        raise fail(_("give a switch NAME or --all (not both)"))
    return path, None if all_ else names


def _run(
    verb: str,
    names: list[str] | None,
    spec: Spec,
    target: Target,
    output: Output,
    fn: Callable[..., list[SwitchResult]],
) -> list[SwitchResult]:
    """Shared body: a progress bar while switches finish, one status line each."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    as_json = output.data
    total = len(names) if names else len(spec.site.switches)
    con = err_console()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=con,
        transient=True,
        disable=as_json,
    ) as progress:
        task = progress.add_task(f"{verb} ({target.value})", total=total)

        def on_done(res: SwitchResult) -> None:
            progress.advance(task)
            if not as_json:
                style = _STYLE.get(res.status, "")
                con.print(f"  [{style}]{_status(res.status):>11}[/{style}] {escape(res.name)}")

        try:
            return fn(spec, target.value, on_done=on_done, names=names)
        except KeyError as exc:
            con.print(escape(_("error: {problem}").format(problem=exc.args[0])))
            raise typer.Exit(1) from None


def _emit(
    results: list[SwitchResult], output: Output, show_lines: bool, exit_if_failed: bool = True
) -> None:
    ok = all(r.ok for r in results)
    if output.data:
        emit({"ok": ok, "switches": [r.to_dict() for r in results]}, output)
    else:
        out = console()
        if show_lines:
            for r in results:
                if r.lines:
                    out.print(f"[bold]{escape(r.name)}[/bold]")
                    for line in r.lines:
                        out.print(f"  {escape(line)}", soft_wrap=True)
        out.print(summary_table(results))
    if not ok and exit_if_failed:
        raise typer.Exit(1)


def summary_table(results: list[SwitchResult]) -> Table:
    """One row per switch: status, how many lines, time, error or backup file."""
    table = Table(title=_("Switches"), title_justify="left")
    for col in (_("switch"), _("status"), _("lines"), _("seconds"), _("detail")):
        table.add_column(col, overflow="fold")
    for r in results:
        style = _STYLE.get(r.status, "")
        detail = r.error or r.backup or ""
        table.add_row(
            escape(r.name),
            f"[{style}]{_status(r.status)}[/{style}]" if style else _status(r.status),
            str(len(r.lines)),
            number(r.seconds, 1),
            escape(detail),
        )
    return table


EXAMPLES_BACKUP = examples(
    "dcctl switch backup examples/wonosobo sw-core --target lab",
    "dcctl switch backup --all --target prod -o json",
)
EXAMPLES_DIFF = examples(
    "dcctl switch diff examples/wonosobo sw-dinkes",
    "dcctl switch diff sw-core        # inside the spec repo",
    "dcctl switch diff . --all --target prod -o json",
)
EXAMPLES_PUSH = examples(
    "dcctl switch push examples/wonosobo sw-dinkes --target lab",
    "dcctl switch push . --all --target prod --auto-approve",
)


@switch_app.command(epilog=EXAMPLES_BACKUP)
def backup(
    words: WordsArg = None,
    all_: AllOpt = False,
    spec: SpecOpt = None,
    target: TargetOpt = Target.lab,
    output: OutputOpt = Output.text,
) -> None:
    """Save running configs to state/switches/[lab/]<name>.cfg; changes nothing."""
    path, names = _target_switches(words, all_, spec)
    loaded = _load(path, output.data)
    _emit(_run("backup", names, loaded, target, output, backup_switches), output, False)


@switch_app.command(epilog=EXAMPLES_DIFF)
def diff(
    words: WordsArg = None,
    all_: AllOpt = False,
    spec: SpecOpt = None,
    target: TargetOpt = Target.lab,
    output: OutputOpt = Output.text,
) -> None:
    """Show the lines a push would send (drift included); changes nothing."""
    path, names = _target_switches(words, all_, spec)
    loaded = _load(path, output.data)
    _emit(_run("diff", names, loaded, target, output, plan_switches), output, True)


@switch_app.command(epilog=EXAMPLES_PUSH)
def push(
    words: WordsArg = None,
    all_: AllOpt = False,
    spec: SpecOpt = None,
    target: TargetOpt = Target.lab,
    output: OutputOpt = Output.text,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Do not ask (production asks otherwise)")
    ] = False,
) -> None:
    """Push only the delta: back up first, verify, save, roll back on failure.

    In production this asks first (or needs --auto-approve). Every push is written
    to the audit log before it starts and with its result when it ends (failed or
    interrupted included); SIGINT/SIGTERM let the switches being pushed finish and
    start no other.
    """
    from dcctl.engines import interrupt
    from dcctl.engines.audit import audited
    from dcctl.engines.lock import LockedError, apply_lock

    path, names = _target_switches(words, all_, spec)
    loaded = _load(path, output.data)
    if target == Target.prod:
        which = _("every switch") if names is None else ", ".join(names)
        question = _("Push the delta to {which} in prod?").format(which=which)
        confirm_or_exit(auto_approve, "push", question)
    results: list[SwitchResult] = []
    try:
        with (
            interrupt.safe_stop(),
            apply_lock(loaded.state_dir, "switch push"),
            audited(
                loaded.state_dir, loaded.root, "switch push", target.value, switches=names or "all"
            ) as rec,
        ):
            try:
                results = _run("push", names, loaded, target, output, apply_switches)
            finally:  # what was pushed, even when the run did not end normally
                rec.body = {"switches": [r.to_dict() for r in results]}
            rec.finish(all(r.ok for r in results))
    except LockedError as exc:
        raise fail(str(exc)) from None
    _emit(results, output, True, exit_if_failed=interrupt.signal_name() is None)
    if interrupt.requested():
        err_console().print(
            _("push interrupted by {signal}").format(signal=interrupt.signal_name())
        )
        raise typer.Exit(interrupt.exit_code())
