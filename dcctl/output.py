"""Console output shared by every command: rich for people, JSON for pipelines.

Kept in one place so NO_COLOR, --no-color and stderr/stdout separation behave
the same in every command.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from enum import StrEnum
from typing import Any

import orjson
from rich.console import Console, ConsoleDimensions
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

    @property
    def size(self) -> ConsoleDimensions:
        """Not on a terminal (piped, redirected): wide enough that nothing wraps.

        Why: rich fits tables to 80 columns off a terminal (or to the terminal of
        stderr), so `dcctl show spec | grep sismiop` found half a row. Piped, every
        record is one line; on a terminal tables fit the window as before.
        """
        dims = Console.size.fget(self)  # type: ignore[attr-defined]
        if self._width is None and not self.is_terminal:
            return ConsoleDimensions(PIPE_WIDTH, dims.height)
        return dims  # type: ignore[no-any-return]

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


#: Columns of a console that is not a terminal: no table row is that long.
PIPE_WIDTH = 100_000


def configure(no_color: bool) -> None:
    plain = no_color or "NO_COLOR" in os.environ
    # emoji=False: rich would print `site.yaml:100:5` as `site.yaml💯5` (`:100:` is an emoji code).
    _state["out"] = _SafeConsole(no_color=plain, highlight=False, soft_wrap=True, emoji=False)
    _state["err"] = _SafeConsole(
        stderr=True, no_color=plain, highlight=False, soft_wrap=True, emoji=False
    )


#: orjson's options: the standard library's mapping of values (any key made a string; a
#: date, a dataclass, a subclass of str/int/dict/list or anything else unknown through
#: ``str``), so the choice of encoder never changes what a pipeline reads.
_ORJSON = (
    orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _unknown(value: Any) -> Any:
    """A value orjson does not map itself: what ``json.dumps(default=str)`` gives."""
    if isinstance(value, str):
        return str.__str__(value)  # the text itself (an Enum's str() would be its name)
    if isinstance(value, int):
        return int.__int__(value) if not isinstance(value, bool) else bool(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list | tuple):
        return list(value)
    return str(value)


def json_bytes(data: Any, indent: bool = False) -> bytes:
    """`data` as UTF-8 JSON: indented by two, or one compact line.

    Why orjson: the standard library's encoder was a tenth of `plan -o json`'s time at
    ten times the benchmark regency (15 MB of plan); orjson writes it in a seventh of that.
    """
    option = _ORJSON | orjson.OPT_INDENT_2 if indent else _ORJSON
    return orjson.dumps(data, default=_unknown, option=option)


def emit_json(data: Any, stderr: bool = False) -> None:
    """Indented for a person at a terminal; one compact line for a pipeline.

    Written as UTF-8 bytes whatever the locale's encoding (JSON is UTF-8, RFC 8259).
    """
    stream = sys.stderr if stderr else sys.stdout
    text = json_bytes(data, indent=stream.isatty()) + b"\n"
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # a test's or a caller's text-only stream
        stream.write(text.decode())
        return
    stream.flush()
    buffer.write(text)
    buffer.flush()


def emit(data: Any, fmt: str = "json", stderr: bool = False) -> None:
    """Data for a pipeline: JSON, or YAML (block style, keys in order); stdout unless `stderr`.

    YAML gets exactly the JSON's typed values (numbers stay numbers; addresses,
    dates and paths are strings as in the JSON), so the two never disagree.
    """
    if fmt != "yaml":
        emit_json(data, stderr)
        return
    import yaml

    plain = orjson.loads(json_bytes(data))
    text = yaml.safe_dump(plain, sort_keys=False, allow_unicode=True)
    (sys.stderr if stderr else sys.stdout).write(text)


def emit_errors(errors: list[dict[str, Any]], fmt: str = "json") -> None:
    """Errors of a JSON/YAML run: the text's fields, as data, on stderr (stdout stays data).

    Every error has `message` and `hint`; a spec error also `file`, `line`,
    `column` and `field`, exactly what its text line shows.
    """
    emit({"ok": False, "errors": errors}, fmt, stderr=True)


def data_format() -> str | None:
    """ "json" or "yaml" when the running command was asked for data (`-o`), else None."""
    return _mode.get("fmt")


_mode: dict[str, str] = {}


def set_format(fmt: str | None) -> None:
    """Remember the command's `-o` (its option callback calls this) for :func:`fail`."""
    if fmt in ("json", "yaml"):
        _mode["fmt"] = fmt
    else:
        _mode.pop("fmt", None)


def fail(message: str, hint: str | None = None, code: int = 1) -> Any:
    """Print one error (JSON/YAML on stderr under `-o json|yaml`) and return the Exit to raise.

    Usage: ``raise fail("unknown OPD 'x'", "known: ...")``.
    """
    import typer

    from dcctl.i18n import _

    fmt = data_format()
    if fmt:
        emit_errors([{"message": message, "hint": hint}], fmt)
    else:
        err_console().print(escape(_("error")) + ": " + escape(message))
        if hint:
            err_console().print("  " + escape(_("hint: {hint}").format(hint=hint)))
    return typer.Exit(code)


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
    """Every error with its place (path from the current directory), source line and caret.

    Under `-o json|yaml` the errors are data on stderr, with the text's fields.
    """
    from dcctl.i18n import _

    root = getattr(exc, "root", None)
    if as_json or data_format():
        emit_errors(
            [
                {**e.to_dict(), "file": from_cwd(e.file, root), "spec_file": e.file}
                for e in exc.errors
            ],
            data_format() or "json",
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

    from dcctl.i18n import _

    if auto_approve:
        return
    if not interactive():
        err_console().print(_not_a_terminal(verb))
        raise typer.Exit(1)
    if not typer.confirm(question, default=False):
        err_console().print(_("not confirmed: nothing was changed ({verb})").format(verb=verb))
        raise typer.Exit(1)


def _not_a_terminal(verb: str) -> str:
    from dcctl.i18n import _

    return _("error: not a terminal; pass --auto-approve to {verb}").format(verb=verb)


def type_to_confirm(auto_approve: bool, verb: str, word: str, question: str) -> None:
    """Like :func:`confirm_or_exit`, but the person must type ``word`` (a destroy)."""
    import typer

    from dcctl.i18n import _

    if auto_approve:
        return
    if not interactive():
        err_console().print(_not_a_terminal(verb))
        raise typer.Exit(1)
    answer = typer.prompt(
        question + "\n" + _("Type {word!r} to confirm").format(word=word),
        default="",
        show_default=False,
    )
    if answer.strip() != word:
        err_console().print(
            _("not confirmed ({answer!r} is not {word!r}): nothing was changed").format(
                answer=escape(answer.strip()), word=word
            )
        )
        raise typer.Exit(1)


class Output(StrEnum):
    """Output of a command that prints data: for a person, or typed data for a pipeline."""

    text = "text"
    json = "json"
    yaml = "yaml"

    @property
    def data(self) -> bool:
        """JSON or YAML: typed data on stdout, errors as data on stderr."""
        return self is not Output.text


class OutputMd(StrEnum):
    """The outputs of a command whose result a pipeline posts (plan, report)."""

    text = "text"
    json = "json"
    yaml = "yaml"
    markdown = "markdown"

    @property
    def data(self) -> bool:
        return self in (OutputMd.json, OutputMd.yaml)


def _remember(value: Any) -> Any:
    set_format(getattr(value, "value", value))
    return value


def output_option(kind: type[StrEnum] = Output) -> Any:
    """The `-o/--output` option of a data command (its choices say which formats)."""
    import typer

    from dcctl.i18n import _

    formats = ", ".join(m.value for m in kind)
    return typer.Option(
        "--output",
        "-o",
        help=_("{formats} (json/yaml: typed data, errors as data on stderr)").format(
            formats=formats
        ),
        callback=_remember,
    )
