"""`dcctl lab ...`: build the physical estate of a spec on this machine, inspect it,
inject faults and tear it down.

Why thin: every command loads the spec, computes the plan (`topology`) and calls
one `runner` function, so tests and other tools get the same behaviour without
the CLI. Operator mistakes (not root, missing packages, unknown camera) end with
a one-line message, a hint and exit code 1, never a traceback.

Mounted by the top-level CLI as `dcctl lab` (`app.add_typer(lab_app, name="lab")`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer
from rich.markup import escape
from rich.table import Table

from dcctl import cliopts
from dcctl.cliopts import OutputOpt, SpecPath, examples
from dcctl.i18n import N_, _, number
from dcctl.output import (
    Output,
    console,
    emit,
    err_console,
    fail,
    print_spec_errors,
)
from dcctl.spec.errors import SpecErrors

T = TypeVar("T")

lab_app = cliopts.app(
    name="lab",
    help="Rehearsal lab: the physical estate of a spec (switches, links, hosts, cameras, "
    "WAN) built from namespaces and Open vSwitch on this machine. Needs root.",
)
fault_app = cliopts.app(
    help="Inject faults: misbehaving switches, stopped cameras, broken WAN links.",
)
lab_app.add_typer(fault_app, name="fault")


LabIdOpt = Annotated[
    str | None,
    typer.Option(
        "--lab-id",
        help="3 characters [a-z0-9]; default $DCCTL_LAB_ID or the first letters of the site name",
    ),
]


class _Reporter:
    """Spinner on stderr naming the current step (quiet for JSON output)."""

    def __init__(self, status: Any | None) -> None:
        self.status = status

    def step(self, text: str) -> None:
        if self.status is not None:
            self.status.update(escape(_("lab: {step}...").format(step=text)))


@contextmanager
def _progress(enabled: bool) -> Iterator[_Reporter]:
    if not enabled:
        yield _Reporter(None)
        return
    with err_console().status(escape(_("lab: starting..."))) as status:
        yield _Reporter(status)


def _fail(message: str, hint: str | None = None) -> typer.Exit:
    """One error (with a hint): text, or data on stderr under -o json|yaml."""
    return cast(typer.Exit, fail(message, hint))


def _guard(fn: Callable[[], T]) -> T:
    from dcctl.lab.base import LabError
    from dcctl.lab.net import NetError
    from dcctl.lab.plan import LabPlanError

    try:
        return fn()
    except LabError as exc:
        raise _fail(str(exc), exc.hint) from None
    except LabPlanError as exc:
        raise _fail(str(exc), _("fix the spec, or choose another --lab-id")) from None
    except NetError as exc:
        raise _fail(
            str(exc), _("see `dcctl lab status`; `dcctl lab down` removes a half-built lab")
        ) from None
    except PermissionError as exc:
        raise _fail(
            _("permission denied: {problem}").format(problem=exc), _("dcctl lab needs root")
        ) from None


def _plan(path: Path, lab_id: str | None, as_json: bool = False) -> Any:
    from dcctl.lab.topology import build_plan
    from dcctl.spec import load_spec

    try:
        spec = load_spec(path)
    except SpecErrors as exc:
        print_spec_errors(exc, as_json)
        raise typer.Exit(1) from None
    return _guard(lambda: build_plan(spec, lab_id))


def _identity(path: Path, lab_id: str | None) -> tuple[str, Path]:
    """Lab id and state dir; the spec is only read when no id was given."""
    import os

    from dcctl.lab.topology import lab_state_dir, resolve_lab_id

    if lab_id or os.environ.get("DCCTL_LAB_ID"):
        lid = _guard(lambda: resolve_lab_id(None, lab_id))
    else:
        lid = _plan(path, None).lab_id
    return lid, lab_state_dir(lid)


#: What a lab command did, as a person reads it (the JSON keeps the English action).
_ACTIONS = {"up": N_("up"), "down": N_("down"), "reset": N_("reset")}


def _print_result(res: Any, output: Output) -> None:
    if output.data:
        emit(res.to_dict(), output)
        return
    con = console()
    for w in res.warnings:
        err_console().print("[yellow]" + escape(_("warning")) + f"[/yellow] {escape(w)}")
    what = "; ".join(res.changes) if res.changes else _("nothing to change")
    con.print(
        escape(
            _("lab {lab_id} {action}: {what} ({seconds}s)").format(
                lab_id=res.lab_id,
                action=_(_ACTIONS.get(res.action, res.action)),
                what=what,
                seconds=number(res.elapsed, 1),
            )
        )
    )


@lab_app.command(
    epilog=examples("dcctl lab up examples/wonosobo", "dcctl lab up . --lab-id wsb -o json")
)
def up(
    path: SpecPath = Path("."),
    lab_id: LabIdOpt = None,
    output: OutputOpt = Output.text,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for started devices to answer")
    ] = 30.0,
) -> None:
    """Build the lab (idempotent: a second run only repairs what is missing)."""
    from dcctl.lab import runner

    plan = _plan(path, lab_id, output.data)
    with _progress(output == Output.text) as rep:
        res = _guard(lambda: runner.up(plan, rep, wait=wait))
    _print_result(res, output)
    if output == Output.text:
        console().print(
            escape(
                _("state: {path}  (status: dcctl lab status --lab-id {lab_id})").format(
                    path=plan.state_dir, lab_id=plan.lab_id
                )
            )
        )


@lab_app.command(epilog=examples("dcctl lab down examples/wonosobo", "dcctl lab down --lab-id wsb"))
def down(
    path: SpecPath = Path("."),
    lab_id: LabIdOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """Remove every namespace, bridge, veth, route and process of the lab (keeps NVRAM)."""
    from dcctl.lab import runner

    lid, state_dir = _identity(path, lab_id)
    with _progress(output == Output.text) as rep:
        res = _guard(lambda: runner.down(lid, state_dir, rep))
    _print_result(res, output)


@lab_app.command(epilog=examples("dcctl lab reset examples/wonosobo"))
def reset(
    path: SpecPath = Path("."),
    lab_id: LabIdOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """`down`, then wipe every switch's startup-config (factory default on next `up`)."""
    from dcctl.lab import runner

    lid, state_dir = _identity(path, lab_id)
    with _progress(output == Output.text) as rep:
        res = _guard(lambda: runner.reset(lid, state_dir, rep))
    _print_result(res, output)


_STYLE = {"up": "green", "missing": "red", "down": "red", "fault": "yellow", "n/a": "dim"}
#: A lab item's state as a person reads it (the JSON keeps the English state).
_STATES = {
    "up": N_("up"),
    "missing": N_("missing"),
    "down": N_("down"),
    "fault": N_("fault"),
    "n/a": N_("n/a"),
}


@lab_app.command(epilog=examples("dcctl lab status", "dcctl lab status examples/wonosobo -o json"))
def status(
    path: SpecPath = Path("."),
    lab_id: LabIdOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """What runs and what is missing. Exit 0 when everything is up, 1 otherwise."""
    from dcctl.lab import runner

    plan = _plan(path, lab_id, output.data)
    st = _guard(lambda: runner.status(plan))
    if output.data:
        emit(st.to_dict(), output)
    else:
        table = Table(
            title=escape(
                _("lab {lab_id} ({prefix}, {path})").format(
                    lab_id=st.lab_id, prefix=st.prefix, path=st.state_dir
                )
            )
        )
        for col in (_("kind"), _("name"), _("state"), _("detail")):
            table.add_column(col)
        for i in st.items:
            style = _STYLE.get(i.state, "")
            state = _(_STATES[i.state]) if i.state in _STATES else i.state
            table.add_row(i.kind, escape(i.name), f"[{style}]{state}[/{style}]", escape(i.detail))
        console().print(table)
        console().print(
            escape(_("all up")) if st.ok else "[red]" + escape(_("not everything is up")) + "[/red]"
        )
    if not st.ok:
        raise typer.Exit(1)


# --------------------------------------------------------------------------
# faults


def _fault_words(words: list[str], names: tuple[str, ...]) -> tuple[Path, list[str]]:
    """`[PATH] NAME ...`: the spec path first (or left out inside a repo).

    The older order, the path last (`camera NAME ACTION PATH`), still works.
    """
    if len(words) == len(names) + 1 and not Path(words[0]).exists() and Path(words[-1]).exists():
        err_console().print(
            escape(
                _(
                    "note: the spec path last is deprecated; give it first: "
                    "dcctl lab fault ... {path} {words}"
                ).format(path=words[-1], words=" ".join(words[:-1]))
            )
        )
        return cliopts.resolve_spec(words[-1]), words[:-1]
    path, rest = cliopts.split_spec_words(words)
    if len(rest) != len(names):
        raise _fail(
            _("expected [PATH] {names}, got {words}").format(
                names=" ".join(names), words=" ".join(words) or _("nothing")
            )
        )
    return path, rest


def _words(*, metavar: str, help: str, complete: Any = None) -> Any:
    """`[PATH] METAVAR...`: the help names what follows the spec path."""
    return typer.Argument(
        metavar=f"[PATH] {metavar}",
        help=f"Spec repo (default: the repo around the current folder), then {help}",
        autocompletion=complete,
        show_default=False,
    )


@fault_app.command(
    "switch",
    epilog=examples(
        "dcctl lab fault switch examples/wonosobo sw-core --reject 'vlan 1[0-9]+'",
        "dcctl lab fault switch sw-core --clear   # inside the spec repo",
    ),
)
def fault_switch(
    words: Annotated[
        list[str], _words(metavar="NAME", help="the switch name", complete=cliopts.complete_switch)
    ],
    lab_id: LabIdOpt = None,
    drop_after: Annotated[
        int | None, typer.Option(help="Hang up SSH sessions after N commands")
    ] = None,
    reject: Annotated[
        list[str] | None, typer.Option(help="Refuse commands matching REGEX (repeatable)")
    ] = None,
    delay: Annotated[
        float | None, typer.Option(help="Answer every command after S seconds")
    ] = None,
    clear: Annotated[bool, typer.Option(help="Remove all faults of this switch first")] = False,
) -> None:
    """Make a switch misbehave (written to its faults.json, read before every command)."""
    from dcctl.lab import runner

    if drop_after is not None and drop_after < 0:
        raise _fail(_("--drop-after must be >= 0"))
    if delay is not None and delay < 0:
        raise _fail(_("--delay must be >= 0"))
    path, (name,) = _fault_words(words, ("NAME",))
    plan = _plan(path, lab_id)
    faults = _guard(
        lambda: runner.switch_fault(
            plan, name, drop_after=drop_after, reject=reject, delay=delay, clear=clear
        )
    )
    console().print(
        escape(
            _("{name}: faults {faults}").format(name=name, faults=json.dumps(faults))
            if faults
            else _("{name}: faults cleared").format(name=name)
        )
    )


class CameraAction(StrEnum):
    stop = "stop"
    start = "start"
    pause = "pause"
    resume = "resume"


@fault_app.command(
    "camera",
    epilog=examples(
        "dcctl lab fault camera examples/wonosobo dishub/terminal stop",
        "dcctl lab fault camera dishub/terminal start   # inside the spec repo",
    ),
)
def fault_camera(
    words: Annotated[
        list[str],
        _words(metavar="CAMERA ACTION", help="NAME or OPD/NAME and stop, start, pause or resume"),
    ],
    lab_id: LabIdOpt = None,
) -> None:
    """Stop/start a camera, or pause it (TCP still accepted, no answers)."""
    from dcctl.lab import runner

    path, (name, action) = _fault_words(words, ("CAMERA", "ACTION"))
    if action not in CameraAction.__members__:
        raise _fail(
            _("camera ACTION is one of {actions}, not {action}").format(
                actions=", ".join(CameraAction), action=repr(action)
            )
        )
    plan = _plan(path, lab_id)
    console().print(_guard(lambda: runner.camera_fault(plan, name, action)))


class WanAction(StrEnum):
    down = "down"
    up = "up"


@fault_app.command(
    "wan",
    epilog=examples(
        "dcctl lab fault wan examples/wonosobo dinkes/pkm-garung down",
        "dcctl lab fault wan pkm-garung up   # inside the spec repo",
    ),
)
def fault_wan(
    words: Annotated[
        list[str],
        _words(
            metavar="OFFICE ACTION",
            help="NAME or OPD/NAME and down or up",
            complete=cliopts.complete_office,
        ),
    ],
    lab_id: LabIdOpt = None,
) -> None:
    """Take a remote office's WAN link down or bring it back."""
    from dcctl.lab import runner

    path, (office, action) = _fault_words(words, ("OFFICE", "ACTION"))
    if action not in WanAction.__members__:
        raise _fail(_("WAN ACTION is down or up, not {action}").format(action=repr(action)))
    plan = _plan(path, lab_id)
    console().print(_guard(lambda: runner.wan_fault(plan, office, action)))
