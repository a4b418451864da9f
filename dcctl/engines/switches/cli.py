"""`dcctl switch backup|diff|push`, and the entry points `dcctl plan/apply` call.

Why a separate command group: switch changes are the riskiest layer (a wrong
trunk cuts a whole building off), so operators need to look at one switch's
delta, take a backup, or push a single switch without running every layer.
`plan_switches` / `apply_switches` are the same operations for all switches,
for the orchestrator.

Credentials come from the switch's credential reference in the spec, resolved
at run time (`env:VAR`, `file:path`; for `--target lab` the lab's own secret
store). Secrets are never printed, logged or put into results.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dcctl import targets
from dcctl.engines.credentials import CredentialError, resolve_credential
from dcctl.engines.switches.engine import (
    Connector,
    SwitchResult,
    SwitchTarget,
    backup_switch,
    change_all,
    netmiko_connect,
    run_all,
)
from dcctl.output import Output, Target, console, emit_json, err_console, print_spec_errors
from dcctl.spec.errors import SpecErrors

if TYPE_CHECKING:
    from dcctl.spec.loader import Spec

#: Login name on the switches; the spec only holds the password's reference.
DEFAULT_USERNAME = "admin"
WORKERS = 16

OnDone = Callable[[SwitchResult], None]


def managed_vlans(spec: Spec) -> set[int]:
    """VLANs dcctl owns on every switch: the IPAM range, plus the management VLAN."""
    lo, hi = spec.site.ipam.vlan_range
    return set(range(int(lo), int(hi) + 1)) | {int(spec.site.management.vlan)}


def backup_dir(spec: Spec, target: targets.Target | str) -> Path:
    """`state/switches/<name>.cfg` for production; lab rehearsals keep their own."""
    return targets.get(target).state_path(spec.state_dir / "switches")


def switch_targets(
    spec: Spec, target: str, names: list[str] | None = None
) -> tuple[list[SwitchTarget], list[SwitchResult]]:
    """Targets to connect to, and failed results for switches without credentials."""
    from dcctl.plan.desired import desired_state

    intents = desired_state(spec)["switches"]
    known = {s.name: s for s in spec.site.switches}
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        raise KeyError(f"unknown switch {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    user = os.environ.get("DCCTL_SWITCH_USERNAME") or DEFAULT_USERNAME
    targets: list[SwitchTarget] = []
    failed: list[SwitchResult] = []
    for name in names or list(known):
        sw = known[name]
        try:
            password = resolve_credential(spec, sw.credential, target)
        except CredentialError as exc:
            failed.append(SwitchResult(name, "failed", error=f"credential: {exc}"))
            continue
        targets.append(SwitchTarget(name, intents[name], sw.mgmt_address, user, password))
    return targets, failed


def plan_switches(
    spec: Spec,
    target: str,
    on_done: OnDone | None = None,
    names: list[str] | None = None,
    connect: Connector = netmiko_connect,
) -> list[SwitchResult]:
    """Dry run: read every switch and report the lines an apply would push."""
    targets, failed = switch_targets(spec, target, names)
    for res in failed:
        if on_done:
            on_done(res)
    res = change_all(targets, managed_vlans(spec), None, True, WORKERS, on_done, connect=connect)
    return sorted(res + failed, key=lambda r: r.name)


def apply_switches(
    spec: Spec,
    target: str,
    on_done: OnDone | None = None,
    names: list[str] | None = None,
    connect: Connector = netmiko_connect,
) -> list[SwitchResult]:
    """Push each switch's delta (backup, verify, save; rollback on failure).

    The caller holds the apply lock (`dcctl apply` does; `dcctl switch push` takes it).
    """
    targets, failed = switch_targets(spec, target, names)
    for res in failed:
        if on_done:
            on_done(res)
    res = change_all(
        targets,
        managed_vlans(spec),
        backup_dir(spec, target),
        False,
        WORKERS,
        on_done,
        connect=connect,
    )
    return sorted(res + failed, key=lambda r: r.name)


def backup_switches(
    spec: Spec,
    target: str,
    on_done: OnDone | None = None,
    names: list[str] | None = None,
    connect: Connector = netmiko_connect,
) -> list[SwitchResult]:
    """Save every (named) switch's running config under `backup_dir`, change nothing."""
    targets, failed = switch_targets(spec, target, names)
    for res in failed:
        if on_done:
            on_done(res)
    dest = backup_dir(spec, target)
    res = run_all(targets, lambda t: backup_switch(t, dest, connect), WORKERS, on_done)
    return sorted(res + failed, key=lambda r: r.name)


# --------------------------------------------------------------------------
# Commands

switch_app = typer.Typer(
    name="switch",
    help="Back up, diff and push switch configurations (IOS, RouterOS).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


NameArg = Annotated[str | None, typer.Argument(help="Switch name from the spec")]
AllOpt = Annotated[bool, typer.Option("--all", help="Every switch in the spec")]
SpecOpt = Annotated[Path, typer.Option("--spec", help="Spec repo directory")]
TargetOpt = Annotated[Target, typer.Option("--target", "-t", help="lab (rehearsal) or prod")]
OutputOpt = Annotated[Output, typer.Option("--output", "-o", help="text or json")]

_STYLE = {
    "changed": "green",
    "planned": "yellow",
    "unchanged": "dim",
    "backed_up": "green",
    "rolled_back": "red",
    "failed": "red",
}


def _load(path: Path, as_json: bool) -> Spec:
    from dcctl.spec import load_spec

    try:
        return load_spec(path)
    except SpecErrors as exc:
        print_spec_errors(exc, as_json)
        raise typer.Exit(1) from None


def _names(name: str | None, all_: bool) -> list[str] | None:
    if all_ == (name is not None):
        err_console().print("error: give a switch NAME or --all (not both)")
        raise typer.Exit(1)
    return None if all_ else [name] if name else None


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

    as_json = output == Output.json
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
                con.print(f"  [{style}]{res.status:>11}[/{style}] {escape(res.name)}")

        try:
            return fn(spec, target.value, on_done=on_done, names=names)
        except KeyError as exc:
            con.print(f"error: {escape(str(exc.args[0]))}")
            raise typer.Exit(1) from None


def _emit(results: list[SwitchResult], output: Output, show_lines: bool) -> None:
    ok = all(r.ok for r in results)
    if output == Output.json:
        emit_json({"ok": ok, "switches": [r.to_dict() for r in results]})
    else:
        out = console()
        if show_lines:
            for r in results:
                if r.lines:
                    out.print(f"[bold]{escape(r.name)}[/bold]")
                    for line in r.lines:
                        out.print(f"  {escape(line)}", soft_wrap=True)
        out.print(summary_table(results))
    if not ok:
        raise typer.Exit(1)


def summary_table(results: list[SwitchResult]) -> Table:
    """One row per switch: status, how many lines, time, error or backup file."""
    table = Table(title="Switches", title_justify="left")
    for col in ("switch", "status", "lines", "seconds", "detail"):
        table.add_column(col, overflow="fold")
    for r in results:
        style = _STYLE.get(r.status, "")
        detail = r.error or r.backup or ""
        table.add_row(
            escape(r.name),
            f"[{style}]{r.status}[/{style}]" if style else r.status,
            str(len(r.lines)),
            f"{r.seconds:.1f}",
            escape(detail),
        )
    return table


@switch_app.command()
def backup(
    name: NameArg = None,
    all_: AllOpt = False,
    spec: SpecOpt = Path("."),
    target: TargetOpt = Target.lab,
    output: OutputOpt = Output.text,
) -> None:
    """Save running configs to state/switches/[lab/]<name>.cfg; changes nothing."""
    names = _names(name, all_)
    loaded = _load(spec, output == Output.json)
    _emit(_run("backup", names, loaded, target, output, backup_switches), output, False)


@switch_app.command()
def diff(
    name: NameArg = None,
    all_: AllOpt = False,
    spec: SpecOpt = Path("."),
    target: TargetOpt = Target.lab,
    output: OutputOpt = Output.text,
) -> None:
    """Show the lines a push would send (drift included); changes nothing."""
    names = _names(name, all_)
    loaded = _load(spec, output == Output.json)
    _emit(_run("diff", names, loaded, target, output, plan_switches), output, True)


@switch_app.command()
def push(
    name: NameArg = None,
    all_: AllOpt = False,
    spec: SpecOpt = Path("."),
    target: TargetOpt = Target.lab,
    output: OutputOpt = Output.text,
) -> None:
    """Push only the delta: back up first, verify, save, roll back on failure."""
    from dcctl.engines.lock import LockedError, apply_lock

    names = _names(name, all_)
    loaded = _load(spec, output == Output.json)
    try:
        with apply_lock(loaded.state_dir, "switch push"):
            results = _run("push", names, loaded, target, output, apply_switches)
    except LockedError as exc:
        err_console().print(f"error: {escape(str(exc))}")
        raise typer.Exit(1) from None
    _emit(results, output, True)
