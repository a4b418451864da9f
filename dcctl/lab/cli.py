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
from dcctl.cliopts import SpecPath, examples
from dcctl.output import (
    Output,
    console,
    emit,
    err_console,
    fail,
    output_option,
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
OutputOpt = Annotated[Output, output_option()]


class _Reporter:
    """Spinner on stderr naming the current step (quiet for JSON output)."""

    def __init__(self, status: Any | None) -> None:
        self.status = status

    def step(self, text: str) -> None:
        if self.status is not None:
            self.status.update(f"lab: {escape(text)}...")


@contextmanager
def _progress(enabled: bool) -> Iterator[_Reporter]:
    if not enabled:
        yield _Reporter(None)
        return
    with err_console().status("lab: starting...") as status:
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
        raise _fail(str(exc), "fix the spec, or choose another --lab-id") from None
    except NetError as exc:
        raise _fail(
            str(exc), "see `dcctl lab status`; `dcctl lab down` removes a half-built lab"
        ) from None
    except PermissionError as exc:
        raise _fail(f"permission denied: {exc}", "dcctl lab needs root") from None


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


def _print_result(res: Any, output: Output) -> None:
    if output.data:
        emit(res.to_dict(), output)
        return
    con = console()
    for w in res.warnings:
        err_console().print(f"[yellow]warning[/yellow] {escape(w)}")
    what = "; ".join(res.changes) if res.changes else "nothing to change"
    con.print(f"lab {res.lab_id} {res.action}: {escape(what)} ({res.elapsed:.1f}s)")


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
            f"state: {plan.state_dir}  (status: dcctl lab status --lab-id {plan.lab_id})"
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
        table = Table(title=f"lab {st.lab_id} ({st.prefix}, {st.state_dir})")
        for col in ("kind", "name", "state", "detail"):
            table.add_column(col)
        for i in st.items:
            style = _STYLE.get(i.state, "")
            table.add_row(i.kind, escape(i.name), f"[{style}]{i.state}[/{style}]", escape(i.detail))
        console().print(table)
        console().print("all up" if st.ok else "[red]not everything is up[/red]")
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
            "note: the spec path last is deprecated; give it first: "
            f"dcctl lab fault ... {escape(words[-1])} {escape(' '.join(words[:-1]))}"
        )
        return cliopts.resolve_spec(words[-1]), words[:-1]
    path, rest = cliopts.split_spec_words(words)
    if len(rest) != len(names):
        raise _fail(f"expected [PATH] {' '.join(names)}, got {' '.join(words) or 'nothing'}")
    return path, rest


def _words(metavar: str, what: str, complete: Any = None) -> Any:
    return typer.Argument(
        metavar=f"[PATH] {metavar}",
        help=f"Spec repo (default: the repo around the current folder), then {what}",
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
    words: Annotated[list[str], _words("NAME", "the switch name", cliopts.complete_switch)],
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
        raise _fail("--drop-after must be >= 0")
    if delay is not None and delay < 0:
        raise _fail("--delay must be >= 0")
    path, (name,) = _fault_words(words, ("NAME",))
    plan = _plan(path, lab_id)
    faults = _guard(
        lambda: runner.switch_fault(
            plan, name, drop_after=drop_after, reject=reject, delay=delay, clear=clear
        )
    )
    console().print(f"{name}: faults {json.dumps(faults) if faults else 'cleared'}")


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
        list[str], _words("CAMERA ACTION", "NAME or OPD/NAME and stop, start, pause or resume")
    ],
    lab_id: LabIdOpt = None,
) -> None:
    """Stop/start a camera, or pause it (TCP still accepted, no answers)."""
    from dcctl.lab import runner

    path, (name, action) = _fault_words(words, ("CAMERA", "ACTION"))
    if action not in CameraAction.__members__:
        raise _fail(f"camera ACTION is one of {', '.join(CameraAction)}, not {action!r}")
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
        _words("OFFICE ACTION", "NAME or OPD/NAME and down or up", cliopts.complete_office),
    ],
    lab_id: LabIdOpt = None,
) -> None:
    """Take a remote office's WAN link down or bring it back."""
    from dcctl.lab import runner

    path, (office, action) = _fault_words(words, ("OFFICE", "ACTION"))
    if action not in WanAction.__members__:
        raise _fail(f"WAN ACTION is down or up, not {action!r}")
    plan = _plan(path, lab_id)
    console().print(_guard(lambda: runner.wan_fault(plan, office, action)))
