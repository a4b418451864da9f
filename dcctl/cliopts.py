"""The shape every dcctl command shares: help, examples, the spec path, completion.

Why one module: an engineer learns one grammar and expects it everywhere (git,
kubectl, terraform habits). `-h` works like `--help` on every command; every
command's help ends with examples of itself; the command lists show whole
summaries, never cut at 45 characters; the spec path is the first positional
argument and, when left out, is the repo found upward from the current folder
(like git), so a file or a sub-folder of a repo means that repo; global options
(`--no-color`) may stand anywhere on the line; and shell completion offers the
switch, OPD, VM and office names the spec around you holds. Sub-apps (lab,
switch, vpn, ...) take their types from here, so a new command gets all of it
by using them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from dcctl.output import Output, Target, output_option

#: --target of every command that works on one target (the lab rehearsal or production).
TargetOpt = Annotated[Target, typer.Option("--target", "-t", help="lab (rehearsal) or prod")]
#: -o/--output of every data command (text, json, yaml).
OutputOpt = Annotated[Output, output_option()]

#: `-h` as well as `--help` (click's default is only `--help`); contexts inherit it.
CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"]}

#: Options of the root command that may stand anywhere on the line, with how many
#: values each takes. `dcctl show spec --no-color` means `dcctl --no-color show spec`.
GLOBAL_OPTIONS: dict[str, int] = {"--no-color": 0, "--lang": 1}

#: Options of the leaf commands that may stand before the command word:
#: `dcctl -o json show` means `dcctl show -o json`.
LEAF_OPTIONS: dict[str, int] = {"-o": 1, "--output": 1}


def option_values(args: list[str], name: str, short: str | None = None) -> Iterator[str]:
    """Each value given to option `name` on the line, in order, read off the words
    themselves (``--lang id``, ``--lang=id``; with `short`, also ``-o json`` and
    ``-ojson``); everything from ``--`` on is an argument, not an option."""
    for i, word in enumerate(args):
        if word == "--":
            return
        if word.startswith(f"{name}="):
            yield word.split("=", 1)[1]
        elif word in (name, short) and i + 1 < len(args):
            yield args[i + 1]
        elif short and word.startswith(short) and len(word) > len(short):
            yield word[len(short) :]  # -ojson


def global_value(args: list[str], name: str) -> str | None:
    """The value of global option `name` on the line (`--lang id`, `--lang=id`), if any."""
    return next(option_values(args, name), None)


def data_format_of(args: list[str]) -> str | None:
    """``json`` or ``yaml`` when the line asks for data (``-o json``, ``--output=yaml``,
    ``-ojson``): for errors click raises before any option is parsed, which must then
    be data too."""
    return next((v for v in option_values(args, "--output", "-o") if v in ("json", "yaml")), None)


def hoist(args: list[str]) -> list[str]:
    """`args` with global options moved to the front and leaf options after the command.

    Why rewrite the line: click binds an option to the command it follows, so
    `dcctl show --no-color` is "no such option" and `dcctl -o json show` is too.
    Everything from `--` on is left alone.
    """
    front: list[str] = []
    middle: list[str] = []
    back: list[str] = []
    tail: list[str] = []
    seen_command = False
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            tail = args[i:]
            break
        name, eq, _value = word.partition("=")
        if name in GLOBAL_OPTIONS:
            n = 0 if eq else GLOBAL_OPTIONS[name]
            front.extend(args[i : i + 1 + n])
            i += 1 + n
            continue
        if not seen_command:
            n_leaf = _leaf_values(word)
            if n_leaf is not None:
                back.extend(args[i : i + 1 + n_leaf])
                i += 1 + n_leaf
                continue
            seen_command = not word.startswith("-")
        middle.append(word)
        i += 1
    return front + middle + back + tail


def _leaf_values(word: str) -> int | None:
    """How many values follow the leaf option `word` (None: not a leaf option)."""
    name, eq, _value = word.partition("=")
    if name in LEAF_OPTIONS:
        return 0 if eq else LEAF_OPTIONS[name]
    glued = [o for o in LEAF_OPTIONS if len(o) == 2 and word.startswith(o) and len(word) > 2]
    return 0 if glued and not word.startswith("--") else None


class Group(TyperGroup):
    """A Typer group with whole command summaries and global options anywhere.

    click shortens each summary to fit one line ("Per-OPD consolidation report:
    VMs, storage,..."); the list here wraps it instead, so nothing is cut.
    """

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            rows.append((name, summary(cmd)))
        if rows:
            import typer.core

            # Typer's own word, in the help's language (dcctl.i18n.helptext.FRAMEWORK).
            heading = getattr(typer.core, "_")("Commands")  # noqa: B009 - not a msgid here
            with formatter.section(heading):
                formatter.write_dl(rows)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if ctx.parent is None and not ctx.resilient_parsing:
            args = hoist(list(args))
        return super().parse_args(ctx, args)


def summary(cmd: Any) -> str:
    """The first paragraph of a command's help, whole (its one-line summary)."""
    if cmd.short_help:
        return " ".join(cmd.short_help.split())
    text = (cmd.help or "").split("\n\n")[0]
    return " ".join(text.replace("\b", "").split())


def app(**kwargs: Any) -> typer.Typer:
    """A Typer (sub-)app with the shared shape: `-h`, whole summaries, no click markup."""
    kwargs.setdefault("no_args_is_help", True)
    kwargs.setdefault("rich_markup_mode", None)
    kwargs.setdefault("pretty_exceptions_enable", False)
    kwargs.setdefault("add_completion", False)
    return typer.Typer(cls=Group, context_settings=dict(CONTEXT), **kwargs)


def examples(*lines: str, epilog: str = "") -> str:
    """An epilog with examples of the command (click keeps `\\b` blocks as written).

    Every command's help has one (a test walks them all), written as the engineer
    would type it.
    """
    block = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)
    return block + ("\n\n" + epilog if epilog else "")


# --------------------------------------------------------------------------
# The spec path: the first positional argument, default the repo around you.


def resolve_spec(value: Path | str | None) -> Path:
    """The spec repo `value` names: itself, the repo it lies in, or the one around cwd.

    A file or a sub-folder (`opd/`, `opd/dinkes.yaml`) means the repo above it,
    found upward like git finds its work tree; a path in no repo is returned as
    given, so the loader names it in its error.
    """
    from dcctl.spec.discovery import find_root

    given = Path(value) if value is not None else None
    start = given if given is not None else Path.cwd()
    if given is not None and not given.exists():
        return given
    root = find_root(start)
    if root is None:
        return given if given is not None else Path(".")
    rel = os.path.relpath(root)
    # Relative to where the engineer stands (an editor jumps to it), unless that
    # climbs out of the tree they named absolutely, or far up: then as absolute.
    outside = rel.startswith("..") and given is not None and given.is_absolute()
    return root if outside or rel.startswith("../../..") else Path(rel)


def _spec_callback(ctx: Any, param: Any, value: Any) -> Path:
    if value is not None and Path(value).is_file():
        # Which file the engineer named (validate says it was checked within its repo).
        ctx.meta["dcctl.spec_file"] = Path(value)
    return resolve_spec(value)


SPEC_HELP = (
    "Spec repo, or a file or folder inside it (default: the repo around the current "
    "folder, found upward like git)"
)

#: The spec path of every command that reads a spec.
SpecPath = Annotated[
    Path,
    typer.Argument(
        help=SPEC_HELP,
        show_default=False,
        callback=_spec_callback,
        metavar="[PATH]",
    ),
]


def split_spec_words(words: list[str] | None) -> tuple[Path, list[str]]:
    """(spec path, the other words) of a command whose path may be left out before names.

    `dcctl switch diff sw-core` and `dcctl switch diff spec sw-core` both work:
    the first word is the spec path when it names something on disk, otherwise
    every word is a name and the spec is the repo around the current folder.
    """
    words = list(words or [])
    if words and Path(words[0]).exists():
        return resolve_spec(words[0]), words[1:]
    return resolve_spec(None), words


# --------------------------------------------------------------------------
# Completion: names read from the spec around the line being typed.


def _spec_for(ctx: Any) -> Any:
    """The spec the command line names (or the one around cwd); None if it does not load."""
    from dcctl.spec import load_spec
    from dcctl.spec.errors import SpecErrors

    path: Any = None
    for key in ("path", "spec", "repo"):
        if ctx.params.get(key):
            path = ctx.params[key]
            break
    if path is None:
        words = ctx.params.get("words") or ()
        path, _ = split_spec_words(list(words))
    try:
        return load_spec(resolve_spec(path))
    except (SpecErrors, OSError, ValueError):
        return None


def _completer(names: Callable[[Any], list[str]]) -> Callable[..., list[str]]:
    def complete(ctx: Any, incomplete: str) -> list[str]:
        spec = _spec_for(ctx)
        if spec is None:
            return []
        return [n for n in names(spec) if n.startswith(incomplete)]

    return complete


def switch_names(spec: Any) -> list[str]:
    return [s.name for s in spec.site.switches]


def opd_codes(spec: Any) -> list[str]:
    return list(spec.opds)


def vm_names(spec: Any) -> list[str]:
    return [f"{code}/{vm.name}" for code, opd in spec.opds.items() for vm in opd.vms]


def office_names(spec: Any) -> list[str]:
    return [f"{code}/{o.name}" for code, opd in spec.opds.items() for o in opd.offices]


def device_names(spec: Any) -> list[str]:
    from dcctl.ssh.cli import devices

    return sorted(devices(spec))


def show_words(spec: Any) -> list[str]:
    from dcctl.report.inventory import VIEWS

    return [*VIEWS, *opd_codes(spec)]


complete_show = _completer(show_words)
complete_switch = _completer(switch_names)
complete_opd = _completer(opd_codes)
complete_vm = _completer(vm_names)
complete_office = _completer(office_names)
complete_device = _completer(device_names)
