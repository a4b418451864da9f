"""The dcctl command line: thin Typer commands over spec, plan and engines.

Commands parse options, call one library function and render its result; no
business logic lives here, so the same behaviour is reachable from tests and
from the GitOps pipeline. Exit codes: 0 ok / no changes, 1 error, 2 changes
present (with --detailed-exitcode).
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from dcctl import __version__
from dcctl.engines.layer import WAITING
from dcctl.output import (
    configure,
    console,
    emit_json,
    err_console,
    load_spec_or_exit,
)

app = typer.Typer(
    name="dcctl",
    help="Declarative infrastructure for the regency data center (SPBE shared DC).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


class Output(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class Target(StrEnum):
    lab = "lab"
    prod = "prod"


TargetOpt = Annotated[Target, typer.Option("--target", "-t", help="lab (rehearsal) or prod")]


SpecPath = Annotated[
    Path, typer.Argument(help="Spec repo directory (or one spec file)", show_default=True)
]
OutputOpt = Annotated[Output, typer.Option("--output", "-o", help="text, json or markdown")]


class Layer(StrEnum):
    switches = "switches"
    vms = "vms"
    hosts = "hosts"


LayerOpt = Annotated[
    list[Layer] | None,
    typer.Option(
        "--layer",
        "-l",
        help="Only these engine layers (repeatable): switches, vms, hosts. Default: all",
    ),
]


def _layers(chosen: list[Layer] | None) -> list[str] | None:
    return [layer.value for layer in chosen] if chosen else None


def _mount_subcommands() -> None:
    """Domain sub-apps live with their domain; the CLI only mounts them."""
    from dcctl.engines.switches.cli import switch_app
    from dcctl.lab.cli import lab_app
    from dcctl.ssh.cli import hostkeys_app
    from dcctl.tickets.cli import ticket_app
    from dcctl.vpn.cli import vpn_app

    app.add_typer(lab_app, name="lab", help="The lab: a replica of the physical estate")
    app.add_typer(ticket_app, name="ticket", help="OPD request tickets to reviewed spec changes")
    app.add_typer(switch_app, name="switch", help="One switch at a time: backup, diff, push")
    app.add_typer(vpn_app, name="vpn", help="Office VPN: keys, rotation, MikroTik configs")
    app.add_typer(hostkeys_app, name="hostkeys", help="Pinned SSH host keys: list, trust")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dcctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version")
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="Plain output (also NO_COLOR)")
    ] = False,
) -> None:
    configure(no_color=no_color)


def _load(path: Path, as_json: bool) -> Any:
    return load_spec_or_exit(path, as_json)


AgainstOpt = Annotated[
    str | None,
    typer.Option(
        "--against",
        help="Git ref of the branch this change merges into (e.g. origin/main): "
        "its IPAM lock entries must not collide with this one's",
    ),
]


@app.command()
def validate(
    path: SpecPath = Path("."), output: OutputOpt = Output.text, against: AgainstOpt = None
) -> None:
    """Validate a spec repo; report every error at once with file, line and field."""
    from dcctl.gitops.lockcheck import check
    from dcctl.output import print_spec_errors
    from dcctl.spec.errors import SpecErrors

    spec = _load(path, output == Output.json)
    lock_errors = check(spec.root, against)
    if lock_errors:
        print_spec_errors(SpecErrors(lock_errors), output == Output.json)
        raise typer.Exit(1)
    s = _summary(spec)
    if output == Output.json:
        emit_json({"ok": True, **s, "files": spec.files, "skipped": spec.skipped})
        return
    con = console()
    con.print(
        f"OK {spec.site.name}: {s['opds']} OPDs, {s['vms']} VMs, {s['switches']} switches, "
        f"{s['offices']} offices, {s['cameras']} cameras in {len(spec.files)} files"
        + ("; IPAM lock needs update (dcctl lock)" if spec.lock_changed else "")
    )
    con.print("read: " + escape(", ".join(spec.files)), soft_wrap=True)
    for rel, why in spec.skipped.items():
        con.print(f"skipped {escape(rel)}: {escape(why)}", soft_wrap=True)


def _summary(spec: Any) -> dict[str, Any]:
    return {
        "site": spec.site.name,
        "opds": len(spec.opds),
        "vms": sum(len(o.vms) for o in spec.opds.values()),
        "switches": len(spec.site.switches),
        "offices": sum(len(o.offices) for o in spec.opds.values()),
        "cameras": sum(len(o.cameras) for o in spec.opds.values()),
        "lock_up_to_date": not spec.lock_changed,
    }


@app.command()
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to file instead of stdout")
    ] = None,
) -> None:
    """Print the JSON Schema of spec documents (for yaml-language-server)."""
    import json

    from dcctl.spec.schema import spec_json_schema

    text = json.dumps(spec_json_schema(), indent=2) + "\n"
    if out:
        out.write_text(text)
        err_console().print(f"wrote {out}")
    else:
        sys.stdout.write(text)


@app.command()
def lock(
    path: SpecPath = Path("."),
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            help="Re-lock onto this Git ref (e.g. origin/main): keep all its values, "
            "give this branch's colliding keys new ones",
        ),
    ] = None,
) -> None:
    """Write IPAM allocations to dcctl.lock.yaml (commit it with your change)."""
    from dcctl.gitops.lockcheck import relock
    from dcctl.output import print_spec_errors
    from dcctl.spec.errors import SpecErrors

    spec = _load(path, False)
    try:
        done = relock(spec, against)
    except SpecErrors as exc:
        print_spec_errors(exc, False)
        raise typer.Exit(1) from None
    for key, old, new, why in done.moved:
        console().print(f"  {escape(key)}: {old} -> {new}" + (f" ({escape(why)})" if why else ""))
    console().print("dcctl.lock.yaml updated" if done.changed else "dcctl.lock.yaml is up to date")


@app.command()
def show(
    path: SpecPath = Path("."),
    opd: Annotated[str | None, typer.Argument(help="Only this OPD (code)")] = None,
    output: OutputOpt = Output.text,
) -> None:
    """Tables of OPDs, allocations, VMs, offices, cameras and storage."""
    from dcctl.report.inventory import inventory

    spec = _load(path, output == Output.json)
    if opd is not None and opd not in spec.opds:
        err_console().print(f"error: unknown OPD {escape(opd)!r}; known: {', '.join(spec.opds)}")
        raise typer.Exit(1)
    inv = inventory(spec, opd)
    if output == Output.json:
        emit_json(inv)
        return
    for title, rows in inv.items():
        if not rows:
            continue
        table = Table(title=title.replace("_", " ").title(), title_justify="left")
        for col in rows[0]:
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(*(escape(str(v)) for v in row.values()))
        console().print(table)


@app.command()
def plan(
    path: SpecPath = Path("."),
    output: OutputOpt = Output.text,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when changes are pending")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show every field")] = False,
    target: Annotated[
        Target | None,
        typer.Option(
            "--target",
            "-t",
            help="Also ask the engines: switch deltas, Pulumi preview, Ansible check mode",
        ),
    ] = None,
    layer: LayerOpt = None,
) -> None:
    """Show what an apply would change in every layer, against the target's last apply.

    Without --target this is the production plan, offline: the spec against
    production's last applied snapshot (a lab rehearsal never changes it). With
    --target the diff is against that target's snapshot, and the engines are
    asked too: the switches are read, the Pulumi preview runs and the playbooks
    run in check+diff mode, so drift shows up too.
    """
    from dcctl.plan.desired import desired_state
    from dcctl.plan.diff import SnapshotError, summarize, target_changes
    from dcctl.plan.render import render_markdown, render_text

    spec = _load(path, output == Output.json)
    desired = desired_state(spec)
    try:
        changes = target_changes(spec, desired, target.value if target is not None else "prod")
    except SnapshotError as exc:
        err_console().print(f"error: {escape(str(exc))}")
        raise typer.Exit(1) from None
    engines = _engine_preview(spec, target, _layers(layer), desired) if target is not None else None
    if output == Output.json:
        emit_json(
            {
                "site": spec.site.name,
                "lock_up_to_date": not spec.lock_changed,
                "changes": [c.to_dict() for c in changes],
                "summary": summarize(changes),
                **({"engines": engines.to_dict()} if engines else {}),
            }
        )
    elif output == Output.markdown:
        sys.stdout.write(render_markdown(spec, changes))
        if engines:
            sys.stdout.write(_engines_markdown(engines))
    else:
        render_text(console(), spec, changes, verbose)
        if engines:
            _engines_text(engines, verbose)
    if engines is not None and not engines.ok:
        raise typer.Exit(1)
    if detailed_exitcode and (changes or (engines and _engine_changes(engines))):
        raise typer.Exit(2)


def _engine_preview(
    spec: Any, target: Target, layers: list[str] | None = None, state: Any = None
) -> Any:
    from dcctl.engines.lock import LockedError
    from dcctl.engines.orchestrate import run as orchestrate

    try:
        return orchestrate(spec, "preview", target.value, layers=layers, state=state)
    except LockedError as exc:
        err_console().print(f"error: {escape(str(exc))}")
        raise typer.Exit(1) from None


def _engine_changes(report: Any) -> bool:
    return bool(report.has_changes)


def _pending(report: Any, layer: str) -> list[Any]:
    result = report.layers.get(layer)
    return [i for i in result.items if i.status.pending] if result is not None else []


def _engines_text(report: Any, verbose: bool) -> None:
    """What each layer would do, from the layers' typed results."""
    from dcctl.plan.render import engine_step_lines

    con = console()
    con.print(f"\n[bold]engines ({report.target})[/bold]")
    switches = report.layers.get("switches")
    for sw in switches.items if switches is not None else []:
        if sw.status.pending:
            con.print(f"  switch {sw.name}: {len(sw.lines)} lines to push")
            for line in sw.lines if verbose else sw.lines[:10]:
                con.print(f"      {escape(line)}")
        elif sw.status.value != "same":
            con.print(f"  switch {sw.name}: {sw.status.value} {escape(sw.error or '')}")
    vms = report.layers.get("vms")
    if vms is not None:
        for opd, c in sorted(vms.by_opd().items()):
            con.print(f"  pulumi {opd}: " + ", ".join(f"{v} {k}" for k, v in sorted(c.items())))
        for line in engine_step_lines(vms.detail.get("steps", [])):
            con.print(f"      {escape(line)}")
        if verbose:
            for item in _pending(report, "vms"):
                con.print(f"      {item.action} {escape(item.name)} {escape(','.join(item.lines))}")
    waiting = []
    for host in _pending(report, "hosts"):
        if host.action == WAITING:
            waiting.append(host.name)
            continue
        con.print(f"  host {host.name}: {host.action} would change")
        for task in host.lines if verbose else ():
            con.print(f"      {escape(host.name)}: {escape(task)}")
    if waiting:
        con.print(f"  hosts not reachable yet: {', '.join(waiting)}")
    for err in report.errors:
        err_console().print(f"[red]error[/red] {escape(err)}")


def _engines_markdown(report: Any) -> str:
    from dcctl.plan.render import engine_step_lines

    lines = ["", f"#### engines ({report.target})", ""]
    for sw in _pending(report, "switches"):
        lines += [
            f"<details><summary>switch {sw.name}: {len(sw.lines)} lines</summary>",
            "",
            "```",
            *sw.lines,
            "```",
            "</details>",
            "",
        ]
    vms = report.layers.get("vms")
    for opd, c in sorted(vms.by_opd().items()) if vms is not None else []:
        lines.append(f"- pulumi `{opd}`: " + ", ".join(f"{v} {k}" for k, v in sorted(c.items())))
    steps = vms.detail.get("steps", []) if vms is not None else []
    lines += [f"  - {line}" for line in engine_step_lines(steps)]
    for host in _pending(report, "hosts"):
        if host.action != WAITING:
            lines.append(f"- ansible `{host.name}`: {host.action} would change")
    lines += [f"- **error**: {e}" for e in report.errors]
    return "\n".join(lines) + "\n"


def _engine_run(
    path: Path,
    action: str,
    target: Target,
    output: Output,
    verb: str,
    layers: list[str] | None = None,
    allow_destroy: list[str] | tuple[str, ...] = (),
) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from dcctl.engines.lock import LockedError
    from dcctl.engines.orchestrate import DestroyRefused
    from dcctl.engines.orchestrate import run as orchestrate
    from dcctl.plan.diff import SnapshotError

    spec = _load(path, output == Output.json)
    con = err_console()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=con,
        transient=True,
        disable=output == Output.json,
    ) as progress:
        task = progress.add_task(f"{verb} {spec.site.name} ({target.value})")

        def on_step(op: str, name: str) -> None:
            progress.update(task, description=f"{verb}: {op} {name}")
            if output != Output.json:
                con.print(f"  {op:>8} {escape(name)}")

        try:
            report = orchestrate(
                spec, action, target.value, on_step, layers=layers, allow_destroy=allow_destroy
            )
        except (LockedError, DestroyRefused, SnapshotError) as exc:
            con.print(f"error: {escape(str(exc))}")
            raise typer.Exit(1) from None
    if output == Output.json:
        emit_json(report.to_dict())
    else:
        for name, result in report.layers.items():
            changes = {k: v for k, v in result.changes.items() if k != "same"}
            text = ", ".join(f"{v} {k}" for k, v in sorted(changes.items())) or "no changes"
            console().print(f"{name}: {text}")
            for opd, c in sorted(result.by_opd().items()):
                console().print(f"  {opd}: " + ", ".join(f"{v} {k}" for k, v in sorted(c.items())))
        for err in report.errors:
            con.print(f"[red]error[/red] {escape(err)}")
        console().print(f"{verb} {'done' if report.ok else 'FAILED'} in {report.seconds:.1f} s")
    if not report.ok:
        raise typer.Exit(1)


def _confirm(auto_approve: bool, verb: str, question: str) -> None:
    """Ask a person; refuse (never hang) when nobody is there to answer."""
    if auto_approve:
        return
    if not sys.stdin.isatty():
        err_console().print(f"error: not a terminal; pass --auto-approve to {verb}")
        raise typer.Exit(1)
    typer.confirm(question, abort=True)


@app.command()
def apply(
    path: SpecPath = Path("."),
    target: TargetOpt = Target.lab,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Do not ask; for the merge pipeline")
    ] = False,
    output: OutputOpt = Output.text,
    layer: LayerOpt = None,
    allow_destroy: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-destroy",
            metavar="NAME",
            help="Allow this change that loses data (a deleted or replaced VM, a shrunk "
            "recording disk, a deleted OPD), named as the plan names it; repeatable; "
            "'all' allows every one. Without it such an apply is refused",
        ),
    ] = None,
) -> None:
    """Make the estate match the spec: switches, then VMs and networks, then hosts."""
    _confirm(auto_approve, "apply", f"Apply {path} to {target.value}?")
    _engine_run(path, "up", target, output, "apply", _layers(layer), allow_destroy or ())


@app.command()
def destroy(
    path: SpecPath = Path("."),
    target: TargetOpt = Target.lab,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Do not ask")] = False,
    output: OutputOpt = Output.text,
) -> None:
    """Remove every VM and network dcctl created on the target."""
    _confirm(auto_approve, "destroy", f"DESTROY everything of {path} on {target.value}?")
    _engine_run(path, "destroy", target, output, "destroy")


@app.command()
def drift(
    path: SpecPath = Path("."),
    target: TargetOpt = Target.lab,
    output: OutputOpt = Output.text,
    layer: LayerOpt = None,
) -> None:
    """Refresh from the real estate and report out-of-band changes (changes nothing)."""
    _engine_run(path, "drift", target, output, "drift", _layers(layer))


@app.command()
def report(
    path: SpecPath = Path("."),
    output: OutputOpt = Output.text,
    html: Annotated[Path | None, typer.Option("--html", help="Also write an HTML page")] = None,
) -> None:
    """Per-OPD consolidation report: VMs, storage, cameras, offices, quota use."""
    from dcctl.report.consolidation import report_command

    report_command(path, output.value, html)


snapshot_app = typer.Typer(
    name="snapshot",
    help="The last-applied snapshots plans compare against (one per target).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(snapshot_app, name="snapshot")


@snapshot_app.command("adopt")
def snapshot_adopt(
    path: SpecPath = Path("."),
    target: Annotated[
        Target, typer.Option("--target", "-t", help="Whose last apply the old snapshot records")
    ] = ...,  # type: ignore[assignment]
) -> None:
    """Give an untargeted state/snapshot.json (from an older dcctl) to one target.

    dcctl cannot tell whether an old snapshot recorded a production apply or a
    lab rehearsal; the engineer who knows says so here, once.
    """
    from dcctl.engines.lock import LockedError, apply_lock
    from dcctl.plan.diff import SnapshotError, adopt_snapshot

    spec = _load(path, False)
    try:
        with apply_lock(spec.state_dir, "snapshot adopt"):
            written = adopt_snapshot(spec.state_dir, target.value)
    except (SnapshotError, LockedError) as exc:
        err_console().print(f"error: {escape(str(exc))}")
        raise typer.Exit(1) from None
    console().print(f"{escape(str(written))} is now {target.value}'s last-applied snapshot")


@app.command()
def doctor(output: OutputOpt = Output.text) -> None:
    """Report which engines and system tools are present, and how to fix what is missing."""
    from dcctl.doctor import checks

    rows = checks()
    if output == Output.json:
        emit_json(rows)
    else:
        table = Table(title="dcctl doctor", title_justify="left")
        for col in ("check", "status", "detail", "fix"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(
                r["check"],
                "ok" if r["ok"] else "MISSING",
                escape(r["detail"]),
                escape(r["fix"] or ""),
            )
        console().print(table)
    if not all(r["ok"] for r in rows if r["required"]):
        raise typer.Exit(1)


# Commands defined in this module; anything else (or --help) may be a sub-app.
_CORE = {
    "validate",
    "schema",
    "lock",
    "show",
    "plan",
    "apply",
    "destroy",
    "drift",
    "doctor",
    "report",
    "snapshot",
}


def run() -> None:
    """Entry point that turns unexpected failures into one clear line, not a traceback.

    Sub-apps (lab, ticket, switch, vpn) pull in netmiko, hier-config and ruamel; they are
    mounted only when the command line may need them, which keeps `dcctl validate`
    and `dcctl plan` fast enough for a pre-commit hook.
    """
    words = [a for a in sys.argv[1:] if not a.startswith("-")]
    if not words or words[0] not in _CORE:
        _mount_subcommands()
    try:
        app()
    except KeyboardInterrupt:
        err_console().print("interrupted")
        sys.exit(130)
    except Exception as exc:  # last resort: never dump a traceback on users
        if os.environ.get("DCCTL_DEBUG"):
            raise
        err_console().print(f"error: {escape(type(exc).__name__)}: {escape(str(exc))}")
        err_console().print("(set DCCTL_DEBUG=1 for a traceback)")
        sys.exit(1)


if __name__ == "__main__":
    run()
