"""The dcctl command line: thin Typer commands over spec, plan and engines.

Commands parse options, call one library function and render its result; no
business logic lives here, so the same behaviour is reachable from tests and
from the GitOps pipeline. Exit codes: one table for every command
(:data:`dcctl.output.EXIT_CODES`, shown by ``--help``): 0 ok / no changes, 1 error
(usage errors included: click's 2 would read as "changes" under
--detailed-exitcode), 2 changes or drift with --detailed-exitcode, 130/143
interrupted by SIGINT/SIGTERM.
"""

from __future__ import annotations

import gc
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from dcctl import __version__, cliopts
from dcctl.cliopts import OutputOpt, SpecPath, TargetOpt, examples
from dcctl.engines.layer import WAITING
from dcctl.i18n import _, number
from dcctl.output import (
    EXIT_CODES,
    Output,
    OutputMd,
    Target,
    configure,
    confirm_or_exit,
    console,
    emit,
    emit_errors,
    err_console,
    fail,
    load_spec_or_exit,
    output_option,
    set_format,
    type_to_confirm,
)

#: click rewraps an epilog unless a paragraph starts with \b.
EPILOG = "\b\n" + EXIT_CODES

app = cliopts.app(
    name="dcctl",
    help="Declarative infrastructure for the regency data center (SPBE shared DC).",
    # --install-completion / --show-completion (bash, zsh, fish); names come from the spec.
    add_completion=True,
    epilog=EPILOG,
)


class Lang(StrEnum):
    """--lang: Bahasa Indonesia or English (dcctl.i18n)."""

    id = "id"
    en = "en"


#: plan and report: a pipeline posts their markdown.
OutputMdOpt = Annotated[OutputMd, output_option(OutputMd)]


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
    from dcctl.backup.cli import backup_app
    from dcctl.engines.switches.cli import switch_app
    from dcctl.lab.cli import lab_app
    from dcctl.ssh.cli import hostkeys_app
    from dcctl.tickets.cli import ticket_app
    from dcctl.vpn.cli import vpn_app

    for sub, name, text in (
        (lab_app, "lab", "The lab: a replica of the physical estate"),
        (ticket_app, "ticket", "OPD request tickets to reviewed spec changes"),
        (switch_app, "switch", "One switch at a time: backup, diff, push"),
        (vpn_app, "vpn", "Office VPN: keys, rotation, MikroTik configs"),
        (hostkeys_app, "hostkeys", "Pinned SSH host keys: list, trust"),
        (backup_app, "backup", "Backups of every OPD's data: status, restore drills"),
    ):
        # The one exit code table, in every group's --help too.
        app.add_typer(sub, name=name, help=text, epilog=EPILOG)


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
    lang: Annotated[
        Lang | None,
        typer.Option(
            "--lang", help="Language of messages and reports: id or en (default: from LANG)"
        ),
    ] = None,
) -> None:
    from dcctl.i18n import set_language

    set_language(lang.value if lang is not None else None)
    configure(no_color=no_color)
    set_format(None)  # until the command's own -o says otherwise (tests run many in one process)


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


@app.command(
    epilog=examples(
        "dcctl validate",
        "dcctl validate examples/wonosobo -o json",
        "dcctl validate opd/dinkes.yaml   # that file, checked within its repo",
        "dcctl validate . --against origin/main",
    )
)
def validate(
    ctx: typer.Context,
    path: SpecPath = Path("."),
    output: OutputOpt = Output.text,
    against: AgainstOpt = None,
) -> None:
    """Validate a spec repo; report every error at once with file, line and field.

    Given a file or a folder inside a repo (or run there without a path), the
    repo around it is validated: an OPD file is only valid with its Site.
    """
    from dcctl.gitops.lockcheck import check
    from dcctl.output import print_spec_errors
    from dcctl.spec.errors import SpecErrors

    spec = _load(path, output.data)
    lock_errors = check(spec.root, against, spec.lock)
    if lock_errors:
        print_spec_errors(SpecErrors(lock_errors), output.data)
        raise typer.Exit(1)
    s = _summary(spec)
    if output.data:
        emit({"ok": True, **s, "files": spec.files, "skipped": spec.skipped}, output)
        return
    con = console()
    con.print(
        escape(
            _(
                "OK {site}: {opds} OPDs, {vms} VMs, {switches} switches, "
                "{offices} offices, {cameras} cameras in {files} files"
            ).format(**{**s, "files": len(spec.files)})
            + ("; " + _("IPAM lock needs update (dcctl lock)") if spec.lock_changed else "")
        )
    )
    named = ctx.meta.get("dcctl.spec_file")
    if named is not None:
        con.print(
            escape(_("checked {file} within its repo {root}").format(file=named, root=spec.root))
        )
    con.print(_("read: {files}").format(files=escape(_files_read(spec.files))), soft_wrap=True)
    for rel, why in spec.skipped.items():
        con.print(
            _("skipped {file}: {why}").format(file=escape(rel), why=escape(_(why))), soft_wrap=True
        )


#: Up to this many files `validate` names one by one; more are counted per folder.
FILES_NAMED = 20


def _files_read(files: list[str]) -> str:
    """The files a validate read, for a person: each name while they are few; past
    :data:`FILES_NAMED` (a x10 regency has 600 OPD files) the top-level files by name
    and each folder with its count, so the line stays a line (``-o json`` lists all)."""
    if len(files) <= FILES_NAMED:
        return ", ".join(files)
    top = [name for name in files if "/" not in name]
    folders: dict[str, int] = {}
    for name in files:
        if "/" in name:
            folder = name.rpartition("/")[0]
            folders[folder] = folders.get(folder, 0) + 1
    counted = [
        _("{folder}/ ({n} files)").format(folder=folder, n=n)
        for folder, n in sorted(folders.items())
    ]
    return ", ".join([*top, *counted])


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


@app.command(epilog=examples("dcctl schema --out dcctl.schema.json", "dcctl schema -o yaml"))
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to file instead of stdout")
    ] = None,
    output: OutputOpt = Output.json,
) -> None:
    """Print the JSON Schema of spec documents (for yaml-language-server).

    JSON by default (text is the same JSON); `-o yaml` gives the same schema as YAML.
    """
    import json

    import yaml

    from dcctl.spec.schema import spec_json_schema

    if output == Output.yaml:
        text = yaml.safe_dump(spec_json_schema(), sort_keys=False, allow_unicode=True)
    else:
        text = json.dumps(spec_json_schema(), indent=2) + "\n"
    if out:
        out.write_text(text)
        err_console().print(_("wrote {file}").format(file=escape(str(out))))
    else:
        sys.stdout.write(text)


@app.command(epilog=examples("dcctl lock", "dcctl lock . --against origin/main"))
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
    output: OutputOpt = Output.text,
) -> None:
    """Write IPAM allocations to dcctl.lock.yaml (commit it with your change).

    Lists what it allocated (each new VLAN, prefix, address and disk floor, with
    its value), what moved and what was released, so the change is reviewable.
    """
    import contextlib

    from dcctl.files import locked
    from dcctl.gitops.lockcheck import relock
    from dcctl.output import print_spec_errors
    from dcctl.spec.errors import SpecErrors

    # The spec root's lock from reading the lock to writing it: two `dcctl lock`
    # runs (or a ticket render) take turns instead of overwriting each other.
    root = path if path.is_dir() else path.parent
    with locked(root) if root.is_dir() else contextlib.nullcontext():
        spec = _load(path, output.data)
        try:
            done = relock(spec, against)
        except SpecErrors as exc:
            print_spec_errors(exc, output.data)
            raise typer.Exit(1) from None
    if output.data:
        emit(
            {
                "changed": done.changed,
                "allocated": [{"kind": k, "key": key, "value": v} for k, key, v in done.allocated],
                "moved": [
                    {"key": key, "old": old, "new": new, "why": why or None}
                    for key, old, new, why in done.moved
                ],
                "released": [{"kind": k, "key": key, "value": v} for k, key, v in done.released],
            },
            output,
        )
        return
    con = console()
    for kind, key, value in done.allocated:
        con.print(f"  + {kind} {escape(key)}: {escape(str(value))}")
    for key, old, new, why in done.moved:
        con.print(f"  ~ {escape(key)}: {old} -> {new}" + (f" ({escape(why)})" if why else ""))
    for kind, key, value in done.released:
        con.print(f"  - {kind} {escape(key)}: {escape(str(value))} " + _("(released)"))
    if not done.changed:
        con.print(_("dcctl.lock.yaml is up to date"))
        return
    counts = _("{allocated} allocated, {moved} moved, {released} released").format(
        allocated=len(done.allocated), moved=len(done.moved), released=len(done.released)
    )
    con.print(_("dcctl.lock.yaml updated: {counts}").format(counts=counts))


@app.command(
    epilog=examples(
        "dcctl show",
        "dcctl show examples/wonosobo dinkes",
        "dcctl show . ports | grep free",
        "dcctl show . switches -o json",
    )
)
def show(
    path: SpecPath = Path("."),
    what: Annotated[
        str | None,
        typer.Argument(
            metavar="[OPD|switches|ports|links|buildings]",
            help="Only this OPD (code); or a view of the fabric: switches, ports (free ones "
            "marked), links, buildings",
            autocompletion=cliopts.complete_show,
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = Output.text,
) -> None:
    """Tables of OPDs, allocations, VMs, offices, cameras and storage; or the fabric.

    `dcctl show PATH ports` lists every switch port with what uses it, and
    `free` for the ones nothing uses: where a new building or camera can go.
    """
    from dcctl.report.inventory import VIEWS, fabric, inventory

    spec = _load(path, output.data)
    if what in VIEWS:
        data = fabric(spec, what)
    elif what is None or what in spec.opds:
        data = inventory(spec, what)
    else:
        raise fail(
            _("unknown OPD or view {what!r}").format(what=what),
            _("OPDs: {opds}; views: {views}").format(
                opds=", ".join(spec.opds), views=", ".join(VIEWS)
            ),
        )
    if output.data:
        emit(data, output)
        return
    print_tables(data)


def print_tables(data: dict[str, list[dict[str, Any]]]) -> None:
    """One table per key, one row per record (never wrapped when piped: grep finds a row)."""
    from dcctl.i18n.headings import heading
    from dcctl.report.inventory import cell

    for title, rows in data.items():
        if not rows:
            continue
        table = Table(title=heading(title), title_justify="left")
        for col in rows[0]:
            table.add_column(heading(col), overflow="fold")
        for row in rows:
            table.add_row(*(escape(cell(v)) for v in row.values()))
        console().print(table)


@app.command(
    epilog=examples(
        "dcctl plan",
        "dcctl plan . -o markdown > plan.md",
        "dcctl plan . --target lab --out plan.json --detailed-exitcode",
        epilog=EPILOG,
    )
)
def plan(
    path: SpecPath = Path("."),
    output: OutputMdOpt = OutputMd.text,
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
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Save this plan to FILE; `dcctl apply PATH --plan FILE` applies exactly it",
        ),
    ] = None,
) -> None:
    """Show what an apply would change in every layer, against the target's last apply.

    Without --target this is the production plan, offline: the spec against
    production's last applied snapshot (a lab rehearsal never changes it). With
    --target the diff is against that target's snapshot, and the engines are
    asked too: the switches are read, the Pulumi preview runs and the playbooks
    run in check+diff mode, so drift shows up too. --out saves the plan (the
    desired state, the spec's commit, digests of the spec, lock, snapshot and
    Pulumi state, the engines' previews) for `dcctl apply --plan`.
    """
    from dcctl.plan.desired import desired_state
    from dcctl.plan.diff import SnapshotError, summarize, target_changes
    from dcctl.plan.render import render_markdown, render_text

    spec = _load(path, output.data)
    desired = desired_state(spec)
    try:
        changes = target_changes(spec, desired, target.value if target is not None else "prod")
    except SnapshotError as exc:
        raise fail(str(exc)) from None
    engines = _engine_preview(spec, target, _layers(layer), desired) if target is not None else None
    if output.data:
        emit(
            {
                "site": spec.site.name,
                "lock_up_to_date": not spec.lock_changed,
                "changes": [c.to_dict() for c in changes],
                "summary": summarize(changes),
                **({"engines": engines.to_dict()} if engines else {}),
            },
            output,
        )
    elif output == OutputMd.markdown:
        sys.stdout.write(render_markdown(spec, changes))
        if engines:
            sys.stdout.write(_engines_markdown(engines))
    else:
        render_text(console(), spec, changes, verbose)
        if engines:
            _engines_text(engines, verbose)
    if engines is not None and engines.interrupted:
        from dcctl.engines import interrupt

        raise typer.Exit(interrupt.exit_code())
    if engines is not None and not engines.ok:
        raise typer.Exit(1)
    if out is not None:
        _save_plan(out, path, spec, target, desired, changes, engines, _layers(layer))
    if detailed_exitcode and (changes or (engines and _engine_changes(engines))):
        raise typer.Exit(2)


def _save_plan(
    out: Path,
    path: Path,
    spec: Any,
    target: Target | None,
    desired: Any,
    changes: list[Any],
    engines: Any,
    layers: list[str] | None,
) -> None:
    from dcctl.plan import saved

    name = target.value if target is not None else Target.prod.value
    try:
        saved.write(
            out, spec, name, desired, [c.to_dict() for c in changes],
            engines.to_dict() if engines is not None else None, layers,
        )  # fmt: skip
    except OSError as exc:
        err_console().print(
            escape(
                _("error: cannot write the saved plan {file}: {problem}").format(
                    file=out, problem=exc
                )
            )
        )
        raise typer.Exit(1) from None
    err_console().print(
        escape(
            _(
                "saved this plan to {file}; apply exactly it with "
                "`dcctl apply {path} --plan {file} --target {target}`"
            ).format(file=out, path=path, target=name)
        )
    )


def _engine_preview(
    spec: Any, target: Target, layers: list[str] | None = None, state: Any = None
) -> Any:
    from dcctl.engines.lock import LockedError
    from dcctl.engines.orchestrate import run as orchestrate

    try:
        return orchestrate(spec, "preview", target.value, layers=layers, state=state)
    except LockedError as exc:
        raise fail(str(exc)) from None


def _engine_changes(report: Any) -> bool:
    return bool(report.has_changes)


def _pending(report: Any, layer: str) -> list[Any]:
    result = report.layers.get(layer)
    return [i for i in result.items if i.status.pending] if result is not None else []


def _engines_text(report: Any, verbose: bool) -> None:
    """What each layer would do, from the layers' typed results."""
    from dcctl.engines.layer import count_text, op_word
    from dcctl.plan.render import engine_step_lines

    con = console()
    con.print("\n[bold]" + escape(_("engines ({target})").format(target=report.target)) + "[/bold]")
    switches = report.layers.get("switches")
    for sw in switches.items if switches is not None else []:
        if sw.status.pending:
            con.print(
                "  " + _("switch {name}: {n} lines to push").format(name=sw.name, n=len(sw.lines))
            )
            for line in sw.lines if verbose else sw.lines[:10]:
                con.print(f"      {escape(line)}")
        elif sw.status.value != "same":
            status = op_word(sw.status.value)
            con.print(f"  switch {sw.name}: {status} {escape(sw.error or '')}")
    vms = report.layers.get("vms")
    if vms is not None:
        for opd, c in sorted(vms.by_opd().items()):
            counts = ", ".join(count_text(k, v) for k, v in sorted(c.items()))
            con.print(f"  pulumi {opd}: {counts}")
        for line in engine_step_lines(vms.detail.get("steps", [])):
            con.print(f"      {escape(line)}")
        if verbose:
            for item in _pending(report, "vms"):
                action = op_word(item.action)
                con.print(f"      {action} {escape(item.name)} {escape(','.join(item.lines))}")
        _skipped_text(vms)
    waiting = []
    for host in _pending(report, "hosts"):
        if host.action == WAITING:
            waiting.append(host.name)
            continue
        con.print(
            "  " + _("host {name}: {play} would change").format(name=host.name, play=host.action)
        )
        for task in host.lines if verbose else ():
            con.print(f"      {escape(host.name)}: {escape(task)}")
    if waiting:
        con.print("  " + _("hosts not reachable yet: {names}").format(names=", ".join(waiting)))
    hosts = report.layers.get("hosts")
    if hosts is not None:
        _skipped_text(hosts)
    for err in report.errors:
        err_console().print("[red]" + escape(_("error")) + f"[/red] {escape(err)}")


def _engines_markdown(report: Any) -> str:
    from dcctl.engines.layer import count_text
    from dcctl.plan.render import engine_step_lines

    lines = ["", "#### " + _("engines ({target})").format(target=report.target), ""]
    for sw in _pending(report, "switches"):
        summary = _("switch {name}: {n} lines").format(name=sw.name, n=len(sw.lines))
        lines += [
            f"<details><summary>{summary}</summary>",
            "",
            "```",
            *sw.lines,
            "```",
            "</details>",
            "",
        ]
    vms = report.layers.get("vms")
    for opd, c in sorted(vms.by_opd().items()) if vms is not None else []:
        counts = ", ".join(count_text(k, v) for k, v in sorted(c.items()))
        lines.append(f"- pulumi `{opd}`: {counts}")
    steps = vms.detail.get("steps", []) if vms is not None else []
    lines += [f"  - {line}" for line in engine_step_lines(steps)]
    for host in _pending(report, "hosts"):
        if host.action != WAITING:
            would = _("{play} would change").format(play=host.action)
            lines.append(f"- ansible `{host.name}`: {would}")
    error = _("error")
    lines += [f"- **{error}**: {e}" for e in report.errors]
    return "\n".join(lines) + "\n"


def _engine_run(
    spec: Any,
    action: str,
    target: Target,
    output: Output,
    verb: str,
    layers: list[str] | None = None,
    state: Any = None,
    expected: dict[str, Any] | None = None,
    allow_destroy: list[str] | tuple[str, ...] = (),
    converge: bool = False,
) -> Any:
    """Run the layers with progress on stderr and a summary; returns the report.

    A run stopped by SIGINT/SIGTERM (at a safe point, see
    :mod:`dcctl.engines.interrupt`) exits 130/143 here, after its summary.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from dcctl.engines import interrupt
    from dcctl.engines.layer import count_text, op_word
    from dcctl.engines.lock import LockedError
    from dcctl.engines.orchestrate import DestroyRefused
    from dcctl.engines.orchestrate import run as orchestrate
    from dcctl.plan.diff import SnapshotError

    con = err_console()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=con,
        transient=True,
        disable=output.data,
    ) as progress:
        task = progress.add_task(f"{verb} {spec.site.name} ({target.value})")

        def on_step(op: str, name: str) -> None:
            progress.update(task, description=f"{verb}: {op_word(op)} {name}")
            if not output.data:
                con.print(f"  {op_word(op):>8} {escape(name)}")

        try:
            report = orchestrate(
                spec,
                action,
                target.value,
                on_step,
                layers=layers,
                state=state,
                expected=expected,
                allow_destroy=allow_destroy,
                converge=converge,
            )
        except (LockedError, DestroyRefused, SnapshotError) as exc:
            con.print(_("error: {problem}").format(problem=escape(str(exc))))
            raise typer.Exit(1) from None
    if output.data:
        emit(report.to_dict(), output)
    else:
        for name, result in report.layers.items():
            changes = {k: v for k, v in result.changes.items() if k != "same"}
            text = ", ".join(count_text(k, v) for k, v in sorted(changes.items())) or (
                _("failed") if result.errors else result.detail.get("note") or _("no changes")
            )
            console().print(f"{name}: {text}")
            for opd, c in sorted(result.by_opd().items()):
                console().print(
                    f"  {opd}: " + ", ".join(count_text(k, v) for k, v in sorted(c.items()))
                )
            _skipped_text(result)
        for err in report.errors:
            con.print("[red]" + escape(_("error")) + f"[/red] {escape(err)}")
        outcome = (
            _("INTERRUPTED") if report.interrupted else _("done") if report.ok else _("FAILED")
        )
        console().print(
            _("{verb} {outcome} in {seconds} s").format(
                verb=verb, outcome=outcome, seconds=number(report.seconds, 1)
            )
        )
    if report.interrupted:
        raise typer.Exit(interrupt.exit_code())
    return report


def _show_plan(spec: Any, target: Target, state: Any, output: Output) -> bool:
    """Print the offline plan of ``state`` against the target's last apply; any changes?"""
    from dcctl.plan.diff import SnapshotError, target_changes
    from dcctl.plan.render import render_text

    try:
        changes = target_changes(spec, state, target.value)
    except SnapshotError as exc:
        raise fail(str(exc)) from None
    if output == Output.text:
        render_text(console(), spec, changes, False)
    return bool(changes)


def _skipped_text(result: Any) -> None:
    """Say which items were skipped and why (hosts whose inputs did not change)."""
    noted = [i for i in result.items if i.note]
    if noted:
        console().print(
            "  "
            + escape(
                _(
                    "skipped {n} {layer} (inputs unchanged since they converged; "
                    "--converge runs them): {names}"
                ).format(n=len(noted), layer=result.layer, names=", ".join(i.name for i in noted))
            )
        )


@app.command(
    epilog=examples(
        "dcctl apply . --target lab",
        "dcctl apply . --target prod --plan plan.json",
        "dcctl apply . --layer switches --target lab",
        epilog=EPILOG,
    )
)
def apply(
    path: SpecPath = Path("."),
    target: Annotated[
        Target | None,
        typer.Option(
            "--target", "-t", help="lab (rehearsal) or prod; default lab, or the saved plan's"
        ),
    ] = None,
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
            autocompletion=cliopts.complete_vm,
            help="Allow this change that loses data (a deleted or replaced VM, a shrunk "
            "recording disk, a deleted OPD), named as the plan names it; repeatable; "
            "'all' allows every one. Without it such an apply is refused",
        ),
    ] = None,
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="Apply exactly this saved plan (`dcctl plan --out`); refused if the spec, "
            "the lock or the target's state moved since",
        ),
    ] = None,
    converge: Annotated[
        bool,
        typer.Option(
            "--converge",
            help="Run every play on every host, even those whose recorded inputs "
            "(roles, variables, inventory, VM, pinned key) prove nothing changed",
        ),
    ] = False,
) -> None:
    """Make the estate match the spec: switches, then VMs and networks, then hosts.

    Hosts whose inputs did not change since they last converged are skipped (and
    listed); --converge runs them all.

    The plan is shown first, then the question (--auto-approve skips it). With
    --plan FILE the saved plan's desired state is applied, after checking that
    nothing it was made from moved; a switch whose live config moved since the
    plan's preview is left alone.
    """
    from dcctl.plan.desired import desired_state

    spec = _load(path, output.data)
    desired = desired_state(spec)
    expected: dict[str, Any] = {}
    layers = _layers(layer)
    if plan_file is not None:
        plan_target, desired, expected, layers = _saved_plan(
            plan_file, spec, target, layer, desired
        )
        target = plan_target
    tgt = target or Target.lab
    changes = _show_plan(spec, tgt, desired, output)
    if output == Output.text and not changes:
        console().print(
            escape(
                _(
                    "(the engines still put back any drift they find on switches and VMs; "
                    "hosts whose inputs did not change are skipped: --converge checks them too)"
                )
            )
        )
    _refuse_data_loss(spec, tgt, desired, layers, allow_destroy or ())
    question = (
        _("Apply these changes to {site} ({target})?")
        if changes
        else _("Apply the spec to {site} ({target})?")
    )
    confirm_or_exit(auto_approve, "apply", question.format(site=spec.site.name, target=tgt.value))
    report = _engine_run(
        spec,
        "up",
        tgt,
        output,
        "apply",
        layers,
        desired,
        expected,
        allow_destroy or (),
        converge=converge,
    )
    if not report.ok:
        raise typer.Exit(1)


def _refuse_data_loss(
    spec: Any, target: Target, state: Any, layers: list[str] | None, allowed: Any
) -> None:
    """Refuse before asking: a question whose yes the apply then refuses misleads."""
    from dcctl.engines.orchestrate import DestroyRefused, check_destroy

    if layers and "vms" not in layers:
        return
    try:
        check_destroy(spec, target.value, state, allowed)
    except DestroyRefused as exc:
        raise fail(str(exc)) from None


def _saved_plan(
    plan_file: Path, spec: Any, target: Target | None, layer: Any, desired: Any
) -> tuple[Target, Any, dict[str, Any], list[str] | None]:
    """The saved plan's target, state, reviewed switch lines and layers; or exit 1 if stale."""
    from dcctl.plan import saved

    try:
        plan = saved.read(plan_file)
    except saved.SavedPlanError as exc:
        raise fail(str(exc)) from None
    if target is not None and target.value != plan.target:
        err_console().print(
            escape(
                _("error: {file} is a plan for {target}, not {given}").format(
                    file=plan_file, target=plan.target, given=target.value
                )
            )
        )
        raise typer.Exit(1)
    if layer:
        err_console().print(
            escape(_("error: --layer cannot change a saved plan (plan again with it)"))
        )
        raise typer.Exit(1)
    moved = saved.moved(plan, spec, desired)
    if moved:
        err_console().print(
            escape(
                _(
                    "error: refusing the saved plan {file}: what it was made from "
                    "moved since; plan again and review the new plan"
                ).format(file=plan_file)
            )
        )
        for line in moved:
            err_console().print(f"  - {escape(line)}")
        raise typer.Exit(1)
    digests = plan.switch_digests()
    return Target(plan.target), plan.state, ({"switches": digests} if digests else {}), plan.layers


@app.command(
    epilog=examples(
        "dcctl destroy . --target lab",
        epilog=EPILOG,
    )
)
def destroy(
    path: SpecPath = Path("."),
    target: TargetOpt = Target.lab,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Do not ask")] = False,
    output: OutputOpt = Output.text,
) -> None:
    """Remove every VM and network dcctl created on the target.

    Asks the engineer to type the regency's (site's) name, or needs --auto-approve.
    """
    spec = _load(path, output.data)
    type_to_confirm(
        auto_approve,
        "destroy",
        spec.site.name,
        _("DESTROY every VM and network of {site} on {target}?").format(
            site=spec.site.name, target=target.value
        ),
    )
    report = _engine_run(spec, "destroy", target, output, "destroy")
    if not report.ok:
        raise typer.Exit(1)


@app.command(
    epilog=examples(
        "dcctl drift . --target prod --detailed-exitcode",
        "dcctl drift . --layer hosts -o json",
        epilog=EPILOG,
    )
)
def drift(
    path: SpecPath = Path("."),
    target: TargetOpt = Target.lab,
    output: OutputOpt = Output.text,
    layer: LayerOpt = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when drift is found")
    ] = False,
) -> None:
    """Refresh from the real estate and report out-of-band changes (changes nothing).

    Text output lists what drifted: each switch's lines that differ from the
    spec, each VM resource that differs, each host task that would change.
    """
    spec = _load(path, output.data)
    report = _engine_run(spec, "drift", target, output, "drift", _layers(layer))
    if output == Output.text:
        _drift_text(report)
    if not report.ok:
        raise typer.Exit(1)
    if detailed_exitcode and report.has_changes:
        raise typer.Exit(2)


def _drift_text(report: Any) -> None:
    """The drifted lines themselves, per layer, after the summary."""
    from dcctl.engines.layer import op_word

    con = console()
    found = 0
    for name, result in report.layers.items():
        for item in result.items:
            if not item.status.pending or item.action == WAITING:
                continue
            found += 1
            what = "switch" if name == "switches" else "host" if name == "hosts" else name
            con.print(f"  {what} {escape(item.name)}: {escape(op_word(item.action))}")
            for line in item.lines:
                con.print(f"      {escape(line)}")
    if found:
        con.print(
            (_("drift: {n} item differs") if found == 1 else _("drift: {n} items differ")).format(
                n=found
            )
        )
    elif report.ok:
        con.print(_("no drift"))
    else:  # "no drift" would claim what the failed layers could not check
        con.print(escape(_("drift: not fully checked (see the errors)")))


@app.command(
    epilog=examples("dcctl report", "dcctl report . --html laporan.html", "dcctl report . -o json")
)
def report(
    path: SpecPath = Path("."),
    output: OutputMdOpt = OutputMd.text,
    html: Annotated[Path | None, typer.Option("--html", help="Also write an HTML page")] = None,
    tickets: Annotated[
        Path | None,
        typer.Option("--tickets", help="Request tickets folder (default: the repo's tickets/)"),
    ] = None,
) -> None:
    """Per-OPD consolidation report: VMs, storage, cameras, offices, quota use, requests."""
    from dcctl.report.consolidation import report_command

    report_command(path, output.value, html, tickets)


snapshot_app = cliopts.app(
    name="snapshot", help="The last-applied snapshots plans compare against (one per target)."
)
app.add_typer(snapshot_app, name="snapshot")


@snapshot_app.command("adopt", epilog=examples("dcctl snapshot adopt . --target prod"))
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
        raise fail(str(exc)) from None
    console().print(
        escape(
            _("{file} is now {target}'s last-applied snapshot").format(
                file=written, target=target.value
            )
        )
    )


class CodeownersFormat(StrEnum):
    gitlab = "gitlab"
    github = "github"


@app.command(epilog=examples("dcctl codeowners . --format github --out .github/CODEOWNERS"))
def codeowners(
    path: SpecPath = Path("."),
    fmt: Annotated[
        CodeownersFormat, typer.Option("--format", "-f", help="gitlab or github syntax")
    ] = CodeownersFormat.gitlab,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write here (.gitlab/CODEOWNERS, .github/CODEOWNERS)"),
    ] = None,
) -> None:
    """CODEOWNERS from the spec: the infra team owns all, each OPD's reviewers its file."""
    from dcctl.gitops.codeowners import NoReviewers, owners, render

    spec = _load(path, False)
    try:
        text = render(owners(spec), fmt.value)
    except NoReviewers as exc:
        raise fail(str(exc)) from None
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    err_console().print(escape(_("wrote {file}").format(file=out)))


@app.command(epilog=examples("dcctl doctor", "dcctl doctor -o json"))
def doctor(output: OutputOpt = Output.text) -> None:
    """Report which engines and system tools are present, and how to fix what is missing.

    Required tools come first (dcctl's validate, plan and apply need them; exit 1 if
    one is missing); optional ones after them (the lab, rehearsals, host settings),
    whose absence only limits what this machine can rehearse.
    """
    from dcctl.doctor import checks
    from dcctl.i18n.headings import heading

    rows = checks()
    required = [r for r in rows if r["required"]]
    optional = [r for r in rows if not r["required"]]
    ok = all(r["ok"] for r in required)
    if output.data:
        emit({"ok": ok, "required": required, "optional": optional}, output)
    else:
        con = console()
        for title, group, missing in (
            (_("Required (validate, plan, apply)"), required, _("MISSING")),
            (_("Optional (the lab and its rehearsals)"), optional, _("missing (optional)")),
        ):
            table = Table(title=title, title_justify="left")
            for col in ("check", "status", "detail", "fix"):
                table.add_column(heading(col), overflow="fold")
            for r in group:
                table.add_row(
                    _(r["check"]),
                    _("ok") if r["ok"] else missing,
                    escape(r["detail"]),
                    escape(r["fix"] or ""),
                )
            con.print(table)
        lacking = ", ".join(_(r["check"]) for r in required if not r["ok"])
        con.print(
            _("required: {required}; optional: {present} of {total} present").format(
                required=_("all present") if ok else _("missing {checks}").format(checks=lacking),
                present=sum(r["ok"] for r in optional),
                total=len(optional),
            )
        )
    if not ok:
        raise typer.Exit(1)


# Commands defined in this module; anything else (or --help) may be a sub-app.
#: Commands that read the spec and print, in seconds: no cyclic GC (dcctl/speed.py).
_OFFLINE = {"validate", "plan", "show", "report", "lock", "codeowners"}

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
    "codeowners",
}


def _usage_of(exc: Exception) -> str:
    """The command a usage error is about (``dcctl show``), from its click context."""
    names = []
    ctx = getattr(exc, "ctx", None)
    while ctx is not None and ctx.parent is not None:
        names.append(str(ctx.info_name))
        ctx = ctx.parent
    return " ".join(["dcctl", *reversed(names)])


def _is_usage_error(exc: Exception) -> bool:
    """A click ClickException (usage, bad parameter, missing file): it prints itself."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return "ClickException" in names and callable(getattr(exc, "show", None))


def _command() -> Any:
    """The app as a click command, its help texts in the run's language.

    Typer holds the help texts from import time on, before `--lang` is parsed, so
    the language is read off the command line (or LANG) here and the built command
    tree's texts are translated before click formats any `--help`.
    """
    from dcctl.i18n import LANGS, env_language

    lang = cliopts.global_value(sys.argv[1:], "--lang") or env_language() or "en"
    if lang not in LANGS or lang == "en":
        return app
    from dcctl.i18n.helptext import translate_tree

    cmd = typer.main.get_command(app)
    translate_tree(cmd, lang)
    return cmd


def run() -> None:
    """Entry point that turns unexpected failures into one clear line, not a traceback.

    Sub-apps (lab, ticket, switch, vpn) pull in netmiko, hier-config and ruamel; they are
    mounted only when the command line may need them, which keeps `dcctl validate`
    and `dcctl plan` fast enough for a pre-commit hook.
    """
    # The command word after global options and their values (`--lang id validate`).
    front = cliopts.hoist(sys.argv[1:])
    skip = {i + 1 for i, a in enumerate(front) if cliopts.GLOBAL_OPTIONS.get(a, 0)}
    words = [a for i, a in enumerate(front) if not a.startswith("-") and i not in skip]
    if not words or words[0] not in _CORE:
        _mount_subcommands()
    if words and words[0] in _OFFLINE and "--target" not in sys.argv:
        gc.disable()  # a short run that builds large acyclic data: see dcctl/speed.py
    try:
        # Not standalone: click would exit 2 on a usage error, which a pipeline
        # running `--detailed-exitcode` reads as "changes pending".
        code = _command()(standalone_mode=False)
    except typer.Abort:
        err_console().print(escape(_("aborted: nothing was changed")))
        sys.exit(1)
    except KeyboardInterrupt:
        err_console().print(_("interrupted"))
        sys.exit(130)
    except Exception as exc:
        fmt = cliopts.data_format_of(sys.argv[1:])
        if _is_usage_error(exc):  # click's usage errors (Typer vendors click): show, exit 1
            if fmt:  # a pipeline asked for data: the error is data too, on stderr
                hint = _("{command} -h shows the usage").format(command=_usage_of(exc))
                message = exc.format_message()  # type: ignore[attr-defined]
                emit_errors([{"message": message, "hint": hint}], fmt)
            else:
                exc.show()  # type: ignore[attr-defined]
            sys.exit(1)
        # Last resort: never dump a traceback on users.
        if os.environ.get("DCCTL_DEBUG"):
            raise
        if fmt:
            emit_errors([{"message": f"{type(exc).__name__}: {exc}", "hint": None}], fmt)
            sys.exit(1)
        err_console().print(
            escape(_("error: {problem}").format(problem=f"{type(exc).__name__}: {exc}"))
        )
        err_console().print(escape(_("(set DCCTL_DEBUG=1 for a traceback)")))
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run()
