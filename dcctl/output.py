"""Console output shared by every command: rich for people, JSON for pipelines.

Kept in one place so NO_COLOR, --no-color and stderr/stdout separation behave
the same in every command.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.markup import escape

from dcctl.spec.errors import SpecErrors, printable
from dcctl.targets import TargetName

#: The --target choices (their one home is dcctl.targets).
Target = TargetName

_state: dict[str, Console] = {}


def console() -> Console:
    if "out" not in _state:
        configure(no_color=False)
    return _state["out"]


def err_console() -> Console:
    if "err" not in _state:
        configure(no_color=False)
    return _state["err"]


class _SafeConsole(Console):
    """A rich console that never passes raw control characters of a message to the terminal.

    Text from specs, tickets, devices and engines may hold ESC/OSC sequences; a
    string printed here has them escaped (:func:`dcctl.spec.errors.printable`).
    """

    def print(self, *objects: Any, **kwargs: Any) -> None:  # type: ignore[override]
        safe = [printable(o, keep_newlines=True) if isinstance(o, str) else o for o in objects]
        super().print(*safe, **kwargs)


def configure(no_color: bool) -> None:
    plain = no_color or "NO_COLOR" in os.environ
    # emoji=False: rich would print `site.yaml:100:5` as `site.yaml💯5` (`:100:` is an emoji code).
    _state["out"] = _SafeConsole(no_color=plain, highlight=False, soft_wrap=True, emoji=False)
    _state["err"] = _SafeConsole(
        stderr=True, no_color=plain, highlight=False, soft_wrap=True, emoji=False
    )


def emit_json(data: Any) -> None:
    """Indented for a person at a terminal; one compact line for a pipeline.

    Why: Python's C encoder only runs without indentation; the pure-Python
    indented encoder was most of `plan -o json`'s time on a large regency.
    """
    indent = 2 if sys.stdout.isatty() else None
    sys.stdout.write(json.dumps(data, indent=indent, sort_keys=False, default=str) + "\n")


def from_cwd(file: str, root: Any = None) -> str:
    """``file`` (relative to the spec root ``root``) as a path from the current directory.

    Why: an editor or terminal jumps to ``file:line:col`` only when the path is
    right from where the engineer stands (``opd/x.yaml`` inside ``opd/`` is ``x.yaml``).
    A file outside the current directory is shown under the spec path as it was
    given (``../spec/opd/x.yaml``, ``/srv/spec/opd/x.yaml``), as compilers do.
    """
    from pathlib import Path

    if root is None:
        return file
    full = Path(root) / file
    if not full.exists():
        return file
    try:
        real, cwd = full.resolve(), Path.cwd().resolve()
        if real.is_relative_to(cwd):
            return str(real.relative_to(cwd))
    except (OSError, ValueError):
        return file
    return os.path.normpath(full)


def source_excerpt(file: str, root: Any, line: int | None, column: int | None) -> list[str]:
    """The offending source line and a caret under the column, as a compiler shows them.

    Tabs are shown as ``→`` (one column each, so the caret stays under its
    character); an unreadable file or an unknown line gives nothing.
    """
    from pathlib import Path

    if root is None or line is None:
        return []
    try:
        text = (Path(root) / file).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    lines = text.lstrip("\ufeff").split("\n")
    if not 1 <= line <= len(lines):
        return []
    body = printable(lines[line - 1].rstrip("\r").replace("\t", "→"))
    if len(body) > 200:
        body = body[:200] + "…"
    gutter = f"{line:>5} | "
    out = [gutter + body]
    if column is not None and 1 <= column <= len(body) + 1:
        out.append(" " * (len(gutter) - 2) + "| " + " " * (column - 1) + "^")
    return out


def print_spec_errors(exc: SpecErrors, as_json: bool) -> None:
    """Every error with its place (path from the current directory), source line and caret."""
    from dcctl.i18n import _

    root = getattr(exc, "root", None)
    if as_json:
        emit_json(
            {
                "ok": False,
                "errors": [
                    {**e.to_dict(), "file": from_cwd(e.file, root), "spec_file": e.file}
                    for e in exc.errors
                ],
            }
        )
        return
    con = err_console()
    label = _("error")
    for e in exc.errors:
        shown = e if root is None else replace(e, file=from_cwd(e.file, root))
        con.print(f"[red]{label}[/red] {escape(str(shown))}")
        for line in source_excerpt(e.file, root, e.line, e.column):
            con.print(escape(line), highlight=False)
    n = len(exc.errors)
    summary = (
        _("{n} error; nothing was changed.") if n == 1 else _("{n} errors; nothing was changed.")
    )
    con.print("[red]" + escape(summary.format(n=n)) + "[/red]")


def load_spec_or_exit(path: Any, as_json: bool, code: int = 1) -> Any:
    """The spec at `path`, or its errors printed (file, line, field) and exit `code`.

    Every command loads its spec this way, so a bad spec reads the same everywhere.
    """
    import typer

    from dcctl.spec import load_spec

    try:
        return load_spec(path)
    except SpecErrors as exc:
        print_spec_errors(exc, as_json)
        raise typer.Exit(code) from None


#: Every command's exit codes (the --help epilog and the README show this table).
EXIT_CODES = """Exit codes (every command):
  0    success; with --detailed-exitcode: no changes / no drift
  1    error: invalid spec or usage, a failed or refused change, a lock held,
       a saved plan whose inputs moved, a question not confirmed
  2    only with --detailed-exitcode (plan, drift): changes pending / drift found
  130  interrupted by SIGINT (143: SIGTERM); stopped at a safe point, audited"""


def interactive() -> bool:
    """Whether a person can answer a question (stdin is a terminal)."""
    return sys.stdin.isatty()


def confirm_or_exit(auto_approve: bool, verb: str, question: str) -> None:
    """Ask a person before a change; refuse (never hang) when nobody is there to answer.

    Every production change goes through here (or through :func:`type_to_confirm`),
    so "asks, or needs --auto-approve" holds for all of them alike.
    """
    import typer

    if auto_approve:
        return
    if not interactive():
        err_console().print(f"error: not a terminal; pass --auto-approve to {verb}")
        raise typer.Exit(1)
    if not typer.confirm(question, default=False):
        err_console().print(f"not confirmed: nothing was changed ({verb})")
        raise typer.Exit(1)


def type_to_confirm(auto_approve: bool, verb: str, word: str, question: str) -> None:
    """Like :func:`confirm_or_exit`, but the person must type ``word`` (a destroy)."""
    import typer

    if auto_approve:
        return
    if not interactive():
        err_console().print(f"error: not a terminal; pass --auto-approve to {verb}")
        raise typer.Exit(1)
    answer = typer.prompt(f"{question}\nType {word!r} to confirm", default="", show_default=False)
    if answer.strip() != word:
        err_console().print(
            f"not confirmed ({escape(answer.strip())!r} is not {word!r}): nothing was changed"
        )
        raise typer.Exit(1)


class Output(StrEnum):
    """Output of the sub-commands: for a person, or for a pipeline."""

    text = "text"
    json = "json"
