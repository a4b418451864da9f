"""Read a ticket file (YAML or JSON) as hostile input.

Before a value reaches Pydantic the file must be small, UTF-8 text without
control characters, and plain data: anchors, aliases, tags, merge keys,
duplicate keys, several documents and oversized scalars are refused, since a
form export never produces them and each one is a way to smuggle structure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dcctl.i18n import _
from dcctl.spec.errors import format_path
from dcctl.spec.loader import PYDANTIC_MESSAGES
from dcctl.spec.source import read_yaml
from dcctl.tickets.errors import Refusal, TicketRefused
from dcctl.tickets.models import KINDS, TICKET_ADAPTER, control_chars

MAX_TICKET_BYTES = 64 * 1024
MAX_SCALAR_CHARS = 512
_FILE = "(file)"

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - wheels ship libyaml
    _Loader = yaml.SafeLoader


def _scan_text(text: str) -> list[Refusal]:
    out: list[Refusal] = []
    for lineno, line in enumerate(text.split("\n"), 1):
        bad = control_chars(line.rstrip("\r").replace("\t", " "))
        if bad:
            out.append(
                Refusal(
                    _FILE,
                    _("control characters are not allowed: {chars}").format(chars=", ".join(bad)),
                    None,
                    lineno,
                )
            )
    return out[:5]


def _scan_events(text: str) -> list[Refusal]:
    """Refuse YAML features a form export never uses, each with its line."""
    out: list[Refusal] = []
    docs = 0
    for ev in yaml.parse(text, Loader=_Loader):
        line = ev.start_mark.line + 1
        if isinstance(ev, yaml.DocumentStartEvent):
            docs += 1
            if docs > 1:
                out.append(
                    Refusal(_FILE, _("more than one YAML document"), _("one ticket per file"))
                )
        elif isinstance(ev, yaml.AliasEvent):
            out.append(
                Refusal(
                    _FILE,
                    _("YAML alias *{name} is not allowed").format(name=ev.anchor),
                    None,
                    line,
                )
            )
        elif isinstance(ev, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if ev.anchor is not None:
                out.append(
                    Refusal(
                        _FILE,
                        _("YAML anchor &{name} is not allowed").format(name=ev.anchor),
                        None,
                        line,
                    )
                )
            if ev.tag is not None:  # the parser sets a tag only when one is written
                out.append(
                    Refusal(
                        _FILE, _("YAML tag {tag} is not allowed").format(tag=ev.tag), None, line
                    )
                )
            if isinstance(ev, yaml.ScalarEvent) and len(ev.value) > MAX_SCALAR_CHARS:
                out.append(
                    Refusal(
                        _FILE,
                        _("a value of {n} characters is over the {limit}-character limit").format(
                            n=len(ev.value), limit=MAX_SCALAR_CHARS
                        ),
                        None,
                        line,
                    )
                )
        if len(out) >= 5:
            break
    return out


def _walk_strings(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    if isinstance(data, dict):
        return [x for k, v in data.items() for x in _walk_strings(v, (*path, k))] + [
            (path, k) for k in data if isinstance(k, str)
        ]
    if isinstance(data, list):
        return [x for i, v in enumerate(data) for x in _walk_strings(v, (*path, i))]
    return [(path, data)] if isinstance(data, str) else []


def load_ticket(path: Path) -> Any:
    """Parse and validate a ticket file; raise TicketRefused with every problem found."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise TicketRefused(
            [
                Refusal(
                    _FILE,
                    _("cannot read {file}: {problem}").format(file=path, problem=exc.strerror),
                )
            ]
        ) from None
    if not path.is_file():
        raise TicketRefused([Refusal(_FILE, _("{file} is not a file").format(file=path))])
    if size > MAX_TICKET_BYTES:
        raise TicketRefused(
            [
                Refusal(
                    _FILE,
                    _("ticket file is {size} bytes, over the {limit}-byte limit").format(
                        size=size, limit=MAX_TICKET_BYTES
                    ),
                    _("a ticket is a short form; attachments stay in the helpdesk"),
                )
            ]
        )
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise TicketRefused(
            [Refusal(_FILE, _("binary file (NUL bytes)"), _("export the ticket as text"))]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TicketRefused([Refusal(_FILE, _("not valid UTF-8 text"), None, line)]) from None
    text = text.removeprefix("\ufeff")
    try:
        problems = _scan_events(text)
    except yaml.reader.ReaderError as exc:  # raw C0/C1 control characters
        line = text[: exc.position].count("\n") + 1
        bad = control_chars(chr(exc.character)) if isinstance(exc.character, int) else []
        what = bad[0] if bad else _("a non-printable character")
        raise TicketRefused(
            [
                Refusal(
                    _FILE,
                    _("control character {char} is not allowed").format(char=what),
                    None,
                    line,
                )
            ]
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise TicketRefused(
            [
                Refusal(
                    _FILE,
                    _("not valid YAML or JSON: {problem}").format(
                        problem=exc.problem or exc.context
                    ),
                    None,
                    mark.line + 1 if mark else None,
                )
            ]
        ) from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise TicketRefused(
            [Refusal(_FILE, _("not valid YAML or JSON: {problem}").format(problem=exc))]
        ) from None
    if problems:
        raise TicketRefused(problems)
    try:
        docs, errors = read_yaml(path, path.name)
    except (ValueError, RecursionError) as exc:  # e.g. an integer with thousands of digits
        raise TicketRefused(
            [Refusal(_FILE, _("unreadable value: {problem}").format(problem=exc))]
        ) from None
    if errors:
        raise TicketRefused([Refusal(e.path or _FILE, e.message, e.hint, e.line) for e in errors])
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        raise TicketRefused([Refusal(_FILE, _("a ticket must be one mapping of fields"))])
    doc = docs[0]
    data = doc.data
    number = data.get("nomor_tiket") if isinstance(data.get("nomor_tiket"), str) else None
    # Escaped control characters ("\u202e" in JSON) only exist after parsing.
    for spath, value in _walk_strings(data):
        bad = control_chars(value)
        if bad:
            raise TicketRefused(
                [
                    Refusal(
                        format_path(spath) or _FILE,
                        _("control characters are not allowed: {chars}").format(
                            chars=", ".join(bad)
                        ),
                        None,
                        doc.locate(spath)[0],
                    )
                ],
                number,
            )
    # Invisible characters PyYAML accepts, left where no field holds them (comments).
    problems = _scan_text(text)
    if problems:
        raise TicketRefused(problems, number)
    if "jenis" in data and data["jenis"] not in KINDS:
        raise TicketRefused(
            [
                Refusal(
                    "jenis",
                    _("unknown request kind {kind!r}").format(kind=data["jenis"]),
                    _("one of: {names}").format(names=", ".join(KINDS)),
                    doc.locate(("jenis",))[0],
                )
            ],
            number,
        )
    try:
        return TICKET_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise TicketRefused(_pydantic_refusals(exc, doc), number) from None


def _pydantic_refusals(exc: ValidationError, doc: Any) -> list[Refusal]:
    out: list[Refusal] = []
    for err in exc.errors(include_url=False):
        # The discriminated union puts the kind in the location; the file does not have it.
        loc = tuple(p for p in err["loc"] if p not in KINDS)
        msg = err["msg"].removeprefix("Value error, ")
        hint = None
        if err["type"] in PYDANTIC_MESSAGES:  # the spec loader's, in the language in force
            msg = _(PYDANTIC_MESSAGES[err["type"]]).format(**(err.get("ctx") or {}))
        if err["type"] == "extra_forbidden":
            msg = _("unknown field {name!r}").format(name=loc[-1])
            hint = _("see dcctl/tickets/README.md for the fields of each kind")
        elif err["type"] == "missing":
            msg = _("required field is missing")
        elif err["type"].endswith("_type"):
            got = type(err.get("input")).__name__
            msg = f"{msg} (" + _("got {type}").format(type=got) + ")"
            if isinstance(err.get("input"), bool):
                hint = _("YAML reads yes/no/on/off as booleans; quote the value")
            elif err["type"] == "string_type":
                hint = _("quote the value")
        out.append(Refusal(format_path(loc) or _FILE, msg, hint, doc.locate(loc)[0]))
    return out
