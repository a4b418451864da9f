"""`dcctl backup status|drill`: each VM's backups against its policy; restore drills.

`status` only reads: the spec (each VM's effective policy) and what backups and drills
recorded for the target (:mod:`dcctl.backup.state`); it reaches no VM, so it answers
offline, in a pipeline too (``-o json``). ``--live`` adds what the target's Prometheus
saw of the VMs' timer runs since (:mod:`dcctl.backup.live`), still writing nothing.
Exit code 0 whatever the backups' state (the alerts, ``BackupStale`` and
``RestoreDrillOverdue``, are what pages someone); 3 when ``--live`` cannot reach
Prometheus.

`drill` is a deliberate act with a result worth keeping (an auditor asks "when was a
restore of the rahasia database last proven, and how long did it take"): it restores
on the VM into a scratch directory it removes again, and records its outcome.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from dcctl import cliopts
from dcctl.cliopts import OutputOpt, SpecPath, TargetOpt, examples
from dcctl.i18n import N_, _, number
from dcctl.output import (
    Output,
    Target,
    console,
    emit,
    err_console,
    fail,
    load_spec_or_exit,
)

backup_app = cliopts.app(help="Backups of every OPD's data: status (and restore drills).")


_STYLE = {
    "ok": "green",
    "none": "dim",
    "drill-overdue": "yellow",
    "copies": "yellow",
    "stale": "red",
    "missing": "red",
}


def _age(seconds: int | None) -> str:
    from dcctl.tickets.status import human

    return "" if seconds is None else human(dt.timedelta(seconds=seconds))


@backup_app.command(
    "status",
    epilog=examples(
        "dcctl backup status",
        "dcctl backup status examples/wonosobo --target lab --live",
        "dcctl backup status . -o json | jq '.vms[] | select(.state != \"ok\")'",
    ),
)
def status(
    path: SpecPath = Path("."),
    target: TargetOpt = Target.prod,
    output: OutputOpt = Output.text,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Also ask the target's Prometheus for each VM's last backups (the timer's "
            "runs since the apply); exit 3 if it cannot be reached",
        ),
    ] = False,
    prometheus: Annotated[
        str | None,
        typer.Option(
            "--prometheus",
            metavar="URL",
            help="Prometheus to ask with --live (default: the monitoring VM, port 9090)",
        ),
    ] = None,
) -> None:
    """Per VM: its policy, last backup and its age against it, copies present, last drill."""
    from dcctl.backup.state import load, records_path
    from dcctl.backup.status import backup_status
    from dcctl.plan.desired import desired_state
    from dcctl.spec.source import DataFileError

    as_json = output.data
    spec = load_spec_or_exit(path, as_json)
    file = records_path(spec, target.value)
    try:
        records = load(file)
    except DataFileError as exc:
        raise fail(str(exc)) from None
    state = desired_state(spec)
    source = None
    if live or prometheus:
        from dcctl.backup.live import LiveError, merge, prometheus_url, query_backups

        monitoring = spec.site.monitoring.vm if spec.site.monitoring else None
        if prometheus is not None and not prometheus.startswith(("http://", "https://")):
            raise fail(_("--prometheus: an http:// or https:// URL"))
        source = prometheus or prometheus_url(state, monitoring)
        if source is None:
            raise fail(_("--live: no Prometheus to ask (no monitoring VM; give --prometheus URL)"))
        try:
            records = merge(records, query_backups(source))
        except LiveError as exc:
            message = _("--live: Prometheus not reachable: {error}").format(error=exc)
            raise fail(message, code=3) from None
    now = dt.datetime.now(dt.UTC)
    rows = backup_status(state, records, now)
    if as_json:
        emit(
            {
                "target": target.value,
                "records": str(file),
                "live": source,
                "generated": now.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
                "vms": [r.to_dict() for r in rows],
            },
            output,
        )
        return
    _table(rows, target.value, file if source is None else f"{file} + {source}")


#: Column headings (msgids, shown through ``_()``); VM and state never wrap.
_COLUMNS = (
    N_("VM"),
    N_("class"),
    N_("policy"),
    N_("last backup"),
    N_("age / stale after"),
    N_("copies"),
    N_("last drill"),
    N_("state"),
)


def _table(rows: list[Any], target: str, file: Path | str) -> None:
    title = _("Backups ({target}: {file})").format(target=target, file=str(file))
    table = Table(title=escape(title), title_justify="left")
    for i, col in enumerate(_COLUMNS):
        table.add_column(_(col), no_wrap=i in (0, len(_COLUMNS) - 1))
    for r in rows:
        policy = "none" if r.schedule == "none" else f"{r.schedule} {r.retention_days}d"
        copies = f"{len(r.copies_present)}/{r.copies_required}" if r.copies_required else ""
        drill = ""
        if r.last_drill is not None:
            drill = _("{result} {age} ago ({seconds} s)").format(
                result=_("ok") if r.drill_ok else _("FAILED"),
                age=_age(r.drill_age_s),
                seconds=f"{r.drill_duration_s:.1f}",
            )
        limit = f" / {_age(r.stale_after_s)}" if r.stale_after_s else ""
        style = _STYLE.get(r.state, "")
        table.add_row(
            escape(r.vm),
            r.classification,
            policy,
            r.last_backup or (_("never") if r.schedule != "none" else ""),
            f"{_age(r.age_s)}{limit}" if r.age_s is not None else "",
            copies,
            escape(drill),
            f"[{style}]{r.state}[/{style}]" if style else r.state,
        )
    console().print(table)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    console().print(", ".join(f"{n} {state}" for state, n in counts.items()))


#: `[PATH] OPD/VM`: the spec path first like every command, and left out inside a repo.
VmWords = Annotated[
    list[str],
    typer.Argument(
        metavar="[PATH] OPD/VM",
        help="Spec repo (default: the repo around the current folder), then the VM as OPD/VM",
        autocompletion=cliopts.complete_vm,
        show_default=False,
    ),
]


@backup_app.command(
    "drill",
    epilog=examples(
        "dcctl backup drill examples/wonosobo dinkes/simpus-db --target lab",
        "dcctl backup drill dinkes/simpus-db --target prod --repository offsite -o json",
    ),
)
def drill_cmd(
    words: VmWords,
    target: TargetOpt,
    repository: Annotated[
        str, typer.Option("--repository", "-r", help="primary or offsite (its second copy)")
    ] = "primary",
    verify: Annotated[
        list[str] | None,
        typer.Option("--verify", help="A file that must come back byte-identical (repeatable)"),
    ] = None,
    output: OutputOpt = Output.text,
) -> None:
    """Restore VM's latest snapshot into a scratch directory, check it, record the result.

    The restore runs on the VM (which alone holds its OPD's repository key): `restic
    check` of the repository, then a SHA-256 of every restored file against the source.
    The result and its measured duration go to the state (`dcctl backup status` shows
    them); exit 1 when the drill failed.
    """
    from dcctl.backup.drill import DrillError, drill, record

    as_json = output.data
    path, rest = cliopts.split_spec_words(words)
    if len(rest) != 1:
        raise fail(_("give one OPD/VM (after the spec path, if any)"))
    vm = rest[0]
    spec = load_spec_or_exit(path, as_json)
    if repository not in ("primary", "offsite"):
        raise fail(_("--repository {value}: primary or offsite").format(value=repr(repository)))
    try:
        result = drill(spec, target.value, vm, repository=repository, verify=tuple(verify or ()))
    except DrillError as exc:
        raise fail(str(exc)) from None  # data on stderr under -o json|yaml
    where = record(spec, target.value, result)
    if as_json:
        emit({**result.to_dict(), "recorded": str(where)}, output)
    else:
        r = result.report
        if result.ok:
            console().print(
                escape(
                    _(
                        "drill of {vm} ({target}, {repository}) ok in {seconds} s: snapshot "
                        "{snapshot} of {time}, {files} files restored, {matched} identical to "
                        "the source, {changed} changed since the snapshot, restic check ok"
                    ).format(
                        vm=result.vm,
                        target=result.target,
                        repository=repository,
                        seconds=number(result.seconds, 1),
                        snapshot=r.get("snapshot"),
                        time=r.get("snapshot_time"),
                        files=r.get("files"),
                        matched=r.get("matched"),
                        changed=r.get("changed_since"),
                    )
                )
            )
        else:
            failed = _("drill of {vm} failed").format(vm=result.vm)
            after = _("after {seconds} s: {problem}").format(
                seconds=number(result.seconds, 1), problem=result.error
            )
            err_console().print(f"[red]{escape(failed)}[/red] {escape(after)}")
        console().print(escape(_("recorded in {file}").format(file=where)))
    if not result.ok:
        raise typer.Exit(1)
