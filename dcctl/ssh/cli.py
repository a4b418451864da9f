"""`dcctl hostkeys list|trust`: which SSH host keys a target pins, and pinning one deliberately.

Why a command of its own, not trust-on-first-use inside apply: the first
contact is the one moment an impostor can slip in, so it is an operator's act
that shows the fingerprint (to compare with the device's console) and leaves a
reviewable change in the target's known_hosts. A key that differs from the
pinned one is refused here too unless ``--replace`` says the device really was
replaced. ``list`` only reads.

Exit codes: 0 every named device pinned (or listed), 1 a device could not be
pinned (unreachable, key changed without ``--replace``), 2 bad usage or spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.markup import escape
from rich.table import Table

from dcctl import cliopts
from dcctl.cliopts import OutputOpt, SpecPath, TargetOpt, examples
from dcctl.i18n import _
from dcctl.output import (
    Output,
    Target,
    console,
    emit,
    err_console,
    fail,
    load_spec_or_exit,
)

if TYPE_CHECKING:
    from dcctl.spec.loader import Spec

hostkeys_app = cliopts.app(help="Pinned SSH host keys of switches, VMs and office routers.")


def devices(spec: Spec) -> dict[str, tuple[str, int]]:
    """Every device dcctl logs in to over SSH: name -> (address, port).

    Switches by name at their management address; VMs and Linux office routers
    by their inventory names, at the addresses the spec gives them.
    """
    from dcctl.engines.ansible.inventory import host_name
    from dcctl.plan.desired import desired_state
    from dcctl.vpn.ansible import office_host

    state = desired_state(spec)
    out = {sw.name: (str(sw.mgmt_address), 22) for sw in spec.site.switches}
    for key, vm in state["vms"].items():
        out[host_name(key)] = (str(vm["address"]).split("/")[0], 22)
    for key, office in state["vpn"].items():
        if office["router"] == "linux":
            out[office_host(key)] = (str(office["wan_address"]), 22)
    return out


def _load(path: Path, as_json: bool) -> Spec:
    return cast("Spec", load_spec_or_exit(path, as_json, code=2))


@hostkeys_app.command(
    "list", epilog=examples("dcctl hostkeys list", "dcctl hostkeys list . --target lab -o json")
)
def list_(
    path: SpecPath = Path("."), target: TargetOpt = Target.prod, output: OutputOpt = Output.text
) -> None:
    """Every SSH device of the spec and the key the target pins for it (reads only)."""
    from dcctl import targets
    from dcctl.ssh.knownhosts import HostKeyError, KnownHosts

    spec = _load(path, output.data)
    file = targets.get(target.value).known_hosts(spec)
    try:
        pinned = KnownHosts(file).entries()
    except HostKeyError as exc:
        raise fail(str(exc), code=2) from None
    rows: list[dict[str, Any]] = []
    for name, (host, port) in sorted(devices(spec).items()):
        key = pinned.get(name)
        rows.append(
            {
                "name": name,
                "address": host,
                "port": port,
                "pinned": key is not None,
                "fingerprint": key.fingerprint if key else None,
                "pinned_address": key.host if key else None,
            }
        )
    if output.data:
        emit({"target": target.value, "file": str(file), "devices": rows}, output)
        return
    table = Table(
        title=_("SSH host keys ({target}: {file})").format(
            target=target.value, file=escape(str(file))
        ),
        title_justify="left",
    )
    for col in (_("device"), _("address"), _("pinned key")):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            escape(r["name"]),
            r["address"],
            r["fingerprint"] or "[yellow]" + _("not pinned") + "[/yellow]",
        )
    console().print(table)


@hostkeys_app.command(
    "trust",
    epilog=examples(
        "dcctl hostkeys trust examples/wonosobo sw-core",
        "dcctl hostkeys trust dinkes-simpus --replace   # inside the spec repo",
    ),
)
def trust(
    words: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[PATH] [NAMES]...",
            help="Spec repo (default: the repo around the current folder), then the "
            "devices to pin (default: all)",
            autocompletion=cliopts.complete_device,
            show_default=False,
        ),
    ] = None,
    target: TargetOpt = Target.prod,
    replace: Annotated[
        bool, typer.Option(help="Accept a key that differs from the pinned one")
    ] = False,
    output: OutputOpt = Output.text,
) -> None:
    """Read each device's host key over SSH, show its fingerprint, and pin it."""
    from dcctl import targets
    from dcctl.ssh.knownhosts import HostKeyError, KnownHosts, fingerprint, scan

    path, names = cliopts.split_spec_words(words)
    spec = _load(path, output.data)
    known = devices(spec)
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        err_console().print(
            _("error: not an SSH device of the spec: {names}; known: {known}").format(
                names=escape(", ".join(unknown)), known=escape(", ".join(sorted(known)))
            )
        )
        raise typer.Exit(2)
    store = KnownHosts(targets.get(target.value).known_hosts(spec))
    results: list[dict[str, Any]] = []
    for name in names or sorted(known):
        host, port = known[name]
        try:
            keyline = scan(host, port)
            verdict = store.record(name, host, port, keyline, replace=replace)
            results.append({"name": name, "status": verdict, "fingerprint": fingerprint(keyline)})
        except HostKeyError as exc:
            results.append({"name": name, "status": "failed", "error": str(exc)})
    failed = [r for r in results if r["status"] == "failed"]
    if output.data:
        emit({"target": target.value, "file": str(store.path), "devices": results}, output)
    else:
        out = console()
        for r in results:
            what = r.get("fingerprint") or r.get("error", "")
            out.print(f"{escape(r['name'])}: {r['status']} {escape(str(what))}")
        pinned = len(results) - len(failed)
        out.print(
            _("{pinned} pinned, {failed} failed in {file}").format(
                pinned=pinned, failed=len(failed), file=escape(str(store.path))
            )
        )
    if failed:
        raise typer.Exit(1)
