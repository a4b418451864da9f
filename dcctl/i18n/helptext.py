"""`--help` in the engineer's language: every help text of the command tree, translated.

Why a walk over the built command tree and not ``_()`` around each ``help=``: Typer
reads help texts (docstrings, ``help=``, epilogs) when the app is defined, at import,
before ``--lang`` is parsed; the texts sit in click's command objects until a
``--help`` formats them. So the English texts stay where they are written (one
source), and :func:`translate_tree` replaces each by its translation on the built
tree, once per run, when the language in force is not English. The msgids are the
texts exactly as click holds them; ``scripts/i18n`` collects them from the same walk
(:func:`help_texts`) into their own catalogue (``dcctl_help.po``), and
``tests/unit/test_i18n.py`` fails when one lacks a translation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dcctl.i18n import catalogue, language

#: The help texts' catalogue (``locale/<lang>/LC_MESSAGES/dcctl_help.po``).
HELP_DOMAIN = "dcctl_help"


def _commands(cmd: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, cmd
    for name, sub in sorted((getattr(cmd, "commands", None) or {}).items()):
        yield from _commands(sub, f"{path} {name}")


def _slots(cmd: Any) -> Iterator[tuple[Any, str]]:
    """(object, attribute) of every help text of one command: its own and its options'."""
    for attr in ("help", "short_help", "epilog"):
        yield cmd, attr
    for param in cmd.params:
        yield param, "help"


#: An epilog's examples paragraph: only this heading is words, the lines are commands.
EXAMPLES = "Examples:"


def _msgids(text: str) -> Iterator[str]:
    """The msgids of one help text: its paragraphs (an examples paragraph: its heading).

    Paragraphs, not whole texts: every epilog ends with the same exit-code table, and
    the command lines of the examples are the same in every language.
    """
    for par in text.split("\n\n"):
        body = _split(par)[1]
        if body.startswith(EXAMPLES):
            yield EXAMPLES
        elif body.strip():
            yield body


def _split(par: str) -> tuple[str, str]:
    """A paragraph's click marker (``\\b`` line: keep as written) and its words."""
    marker = "\b\n" if par.startswith("\b\n") else ""
    return marker, par[len(marker) :]


def translated(text: str, table: dict[str, str]) -> str:
    """``text`` with each paragraph (an examples paragraph's heading) translated."""
    out = []
    for par in text.split("\n\n"):
        marker, body = _split(par)
        if body.startswith(EXAMPLES):
            body = table.get(EXAMPLES, EXAMPLES) + body[len(EXAMPLES) :]
        else:
            body = table.get(body, body)
        out.append(marker + body)
    return "\n\n".join(out)


#: The help formatter's own words (Typer's click, through :func:`gettext.gettext`).
FRAMEWORK = (
    "Arguments",
    "Options",
    "Commands",
    "default: {default}",
    "required",
    "Show this message and exit.",
    "Usage: ",
)


def help_texts(root: Any) -> Iterator[tuple[str, str]]:
    """(where, msgid) of every help text of the tree under ``root`` (a click command)."""
    for msgid in FRAMEWORK:
        yield "help formatter", msgid
    for path, cmd in _commands(root, "dcctl"):
        for obj, attr in _slots(cmd):
            text = getattr(obj, attr, None)
            if isinstance(text, str):
                where = f"{path} {attr}" if obj is cmd else f"{path} {obj.name}"
                for msgid in _msgids(text):
                    yield where, msgid


def translate_tree(root: Any, lang: str | None = None) -> int:
    """Replace every help text under ``root`` by its translation; how many changed."""
    lang = lang or language()
    if lang == "en":
        return 0
    table = catalogue(lang, HELP_DOMAIN)
    _framework(table)
    done = 0
    for _path, cmd in _commands(root, "dcctl"):
        for obj, attr in _slots(cmd):
            text = getattr(obj, attr, None)
            if isinstance(text, str) and text.strip():
                new = translated(text, table)
                if new != text:
                    setattr(obj, attr, new)
                    done += 1
    return done


def _framework(table: dict[str, str]) -> None:
    """The formatter's headings and the help option in the language of ``table``.

    Typer's click looks its words up with :func:`gettext.gettext` at format time (a
    module global, so it is replaced here for this run) and writes the `-h` option's
    help as a literal (its option is made on first use: the maker is wrapped).
    """
    import typer.core
    from typer._click import decorators, formatting

    typer.core._ = lambda text: table.get(text, text)  # type: ignore[attr-defined]
    formatter = formatting.HelpFormatter
    if not getattr(formatter.write_usage, "dcctl_translated", False):
        usage = formatter.write_usage

        def write_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
            usage(self, prog, args, table.get("Usage: ", "Usage: ") if prefix is None else prefix)

        write_usage.dcctl_translated = True  # type: ignore[attr-defined]
        formatter.write_usage = write_usage  # type: ignore[method-assign]
    made = decorators.help_option
    if getattr(made, "dcctl_translated", False):
        return

    def help_option(*names: Any, **kwargs: Any) -> Any:
        inner = made(*names, **kwargs)

        def wrap(f: Any) -> Any:
            out = inner(f)
            params = getattr(out, "params", None) or getattr(f, "__click_params__", [])
            if params:
                last = params[-1]
                last.help = table.get(last.help, last.help)
            return out

        return wrap

    help_option.dcctl_translated = True  # type: ignore[attr-defined]
    decorators.help_option = help_option  # type: ignore[assignment]
