"""Edit one OPD file so that only the requested lines change.

A reviewer reads the merge request as a diff, so an edit must not reformat,
reorder or drop anything else: comments, key order, quoting and flow style are
kept by ruamel.yaml's round-trip mode. New list items are rendered from Jinja2
templates in the house style, then parsed and inserted as nodes. Three guards
make a silent mis-edit impossible:

1. the file must round-trip byte-identically before we touch it;
2. the edited text must parse to exactly the intended data;
3. the line diff may only insert (add), only delete (remove) or only replace
   lines in place (resize).
"""

from __future__ import annotations

import difflib
import io
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dcctl.i18n import _
from dcctl.tickets.errors import refuse

TEMPLATES = Path(__file__).parent / "templates"
# Order of an Opd's keys; a list missing from the file is inserted at its place.
OPD_KEY_ORDER = (
    "apiVersion",
    "kind",
    "code",
    "name",
    "sector",
    "classification",
    "contacts",
    "quota",
    "network",
    "server_room",
    "buildings",
    "vms",
    "offices",
    "cameras",
    "wifi",
)
# (mapping, sequence, offset) indentations tried for the byte-identical round trip.
_INDENTS = ((2, 4, 2), (2, 2, 0), (4, 6, 4), (4, 4, 0), (4, 4, 2))
_PLAIN_RE = re.compile(r"^[\w.()/&'+@-][\w .,()/&'+:@-]*$")
_PLAIN_BAD_START = set("-?:,[]{}#&*!|>'\"%@`")


class YamlQuoted(str):
    """A scalar already emitted as YAML (by the `dq` filter); finalize leaves it alone."""


def yaml_scalar(value: Any) -> str:
    """Emit one value as a YAML scalar that reads back as exactly that value.

    Plain style when it is unambiguous (so the diff looks like the hand-written
    lines around it), double-quoted JSON otherwise. Values were validated long
    before, so this is the second, independent line of defence.
    """
    if isinstance(value, YamlQuoted):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"cannot render {type(value).__name__} into YAML")
    if _plain_ok(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _dq(value: Any) -> YamlQuoted:
    if not isinstance(value, str):
        raise TypeError("dq quotes strings only")
    return YamlQuoted(json.dumps(value, ensure_ascii=False))


def _plain_ok(s: str) -> bool:
    if not s or s != s.strip() or s[0] in _PLAIN_BAD_START or not _PLAIN_RE.fullmatch(s):
        return False
    if ": " in s or s.endswith(":") or " #" in s:
        return False
    try:  # YAML 1.1 (PyYAML) resolves yes/no/1e3/2024-01-01 to non-strings; 1.2 differs
        ok11 = yaml.safe_load("{k: " + s + "}") == {"k": s}
        ok12 = YAML(typ="safe", pure=True).load("{k: " + s + "}") == {"k": s}
    except Exception:
        return False
    return ok11 and ok12


@cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=False,  # output is YAML, not HTML; finalize is the YAML escaper
        undefined=StrictUndefined,
        finalize=yaml_scalar,
        keep_trailing_newline=False,
    )
    env.filters["dq"] = _dq
    return env


def render_item(template: str, **context: Any) -> str:
    """Render one list item (a one-line flow map) from a template."""
    text = _env().get_template(template).render(**context).strip()
    if "\n" in text:  # pragma: no cover - templates are one line by construction
        raise refuse("permintaan", _("internal: template produced more than one line"))
    return text


def _yaml(indent: tuple[int, int, int]) -> YAML:
    y = YAML()  # round-trip
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return y


def _dump(y: YAML, data: Any) -> str:
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def load_round_trip(text: str, display: str) -> tuple[YAML, CommentedMap]:
    """Parse with ruamel.yaml, insisting that dumping it back changes no byte."""
    for indent, start in ((i, s) for i in _INDENTS for s in (None, True)):
        y = _yaml(indent)
        y.explicit_start = start
        try:
            docs = list(y.load_all(text))
        except Exception as exc:
            raise refuse(
                "opd",
                _("{file} cannot be parsed for editing: {problem}").format(
                    file=display, problem=exc
                ),
            ) from None
        if len(docs) != 1 or not isinstance(docs[0], CommentedMap):
            raise refuse(
                "opd",
                _("{file} holds more than one document").format(file=display),
                _("apply the change by hand"),
            )
        if _dump(y, docs[0]) == text:
            return y, docs[0]
    raise refuse(
        "opd",
        _("{file} cannot be edited without reformatting it (unusual indentation or layout)").format(
            file=display
        ),
        _("apply the change by hand, or normalise the file's layout first"),
    )


def _plain(text: str) -> Any:
    return yaml.safe_load(text)


def _check(
    old: str, new: str, expected: Any, allowed: set[str], display: str, lines: int | None = None
) -> str:
    """Guards 2 and 3: the edit means what we intended and touches only what it should.

    `allowed` are the difflib operations permitted; `lines` is the exact number of
    lines an insertion must add. Removing a comment line is never allowed: it
    would mean ruamel.yaml attached someone's comment to the item we remove.
    """
    if _plain(new) != expected:
        raise refuse(
            "opd",
            _("internal: editing {file} would not produce the intended data").format(file=display),
        )
    a, b = old.splitlines(), new.splitlines()
    ops = [op for op in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()]
    changed = [op for op in ops if op[0] != "equal"]
    removed = [ln for tag, i1, i2, _j1, _j2 in changed if tag != "insert" for ln in a[i1:i2]]
    added = sum(j2 - j1 for tag, _i1, _i2, j1, j2 in changed if tag != "delete")
    if (
        not changed
        or not {op[0] for op in changed} <= allowed
        or any(ln.lstrip().startswith("#") for ln in removed)
        or (lines is not None and added != lines)
    ):
        raise refuse(
            "opd",
            _(
                "editing {file} would change more than the requested lines "
                "(comments or layout next to the item)"
            ).format(file=display),
            _("apply the change by hand"),
        )
    if allowed == {"replace"} and len(a) != len(b):
        raise refuse(
            "opd", _("internal: resizing in {file} would add or remove lines").format(file=display)
        )
    return new


def _item_node(y: YAML, rendered: str) -> CommentedMap:
    node = y.load(rendered)
    if not isinstance(node, CommentedMap):  # pragma: no cover - template bug
        raise refuse("permintaan", _("internal: template did not produce a mapping"))
    return node


def add_items(text: str, display: str, key: str, rendered: list[str]) -> str:
    """Append rendered items to the list `key`, creating the list at its place if absent."""
    y, data = load_round_trip(text, display)
    expected = _plain(text)
    nodes = [_item_node(y, r) for r in rendered]
    current = data.get(key)
    if current:  # a non-empty list: append after its last item
        if not isinstance(current, CommentedSeq):
            raise refuse(
                "opd",
                _("{file}: {key} is not a list").format(file=display, key=key),
                _("fix the OPD file first"),
            )
        if current.fa.flow_style():
            raise refuse(
                "opd",
                _("{file}: {key} is written as a flow list [...]").format(file=display, key=key),
                _("rewrite it as a block list (one '- ' item per line) first"),
            )
        current.extend(nodes)
        allowed, lines = {"insert"}, len(nodes)
    elif key in data:  # `key: []` or `key:` becomes a block list; that one line is replaced
        if current is not None and not isinstance(current, CommentedSeq):
            raise refuse(
                "opd",
                _("{file}: {key} is not a list").format(file=display, key=key),
                _("fix the OPD file first"),
            )
        data[key] = CommentedSeq(nodes)
        allowed, lines = {"replace", "insert"}, None
    else:  # no such key: add it where the spec's field order puts it
        after = [k for k in OPD_KEY_ORDER[: OPD_KEY_ORDER.index(key)] if k in data]
        pos = list(data).index(after[-1]) + 1 if after else len(data)
        data.insert(pos, key, CommentedSeq(nodes))
        allowed, lines = {"insert"}, len(nodes) + 1
    expected[key] = [*(expected.get(key) or []), *(_plain(r) for r in rendered)]
    return _check(text, _dump(y, data), expected, allowed, display, lines)


def _index(items: list[Any], name: str, display: str, key: str, field: str) -> int:
    """The position of the item named ``name`` in ``display``'s ``key`` list; refused,
    naming the ticket's ``field``, when there is none (one rule for every edit)."""
    idx = next((i for i, it in enumerate(items) if it.get("name") == name), None)
    if idx is None:
        raise refuse(
            field,
            _("{name!r} not found in {file} {key}").format(name=name, file=display, key=key),
        )
    return idx


def set_values(text: str, display: str, key: str, name: str, values: dict[str, int]) -> str:
    """Change scalar values of the list item named `name` in place (a resize)."""
    y, data = load_round_trip(text, display)
    expected = _plain(text)
    items = data.get(key) or []
    idx = _index(items, name, display, key, "permintaan.nama")
    for field, value in values.items():
        if field not in items[idx]:  # pragma: no cover - vcpu/memory/disk are required fields
            raise refuse(
                "permintaan",
                _("{file}: {key} {name} has no {field} to change").format(
                    file=display, key=key, name=name, field=field
                ),
            )
        items[idx][field] = value
        expected[key][idx][field] = value
    return _check(text, _dump(y, data), expected, {"replace"}, display)


def set_mapping(
    text: str, display: str, key: str, name: str, field: str, value: dict[str, Any]
) -> str:
    """Set the list item ``name``'s ``field`` to the flow mapping ``value`` (a new policy).

    The item's other keys, the file's comments and layout stay as written: a one-line
    item is replaced in place, a block item gains or replaces the field's one line.
    """
    y, data = load_round_trip(text, display)
    expected = _plain(text)
    items = data.get(key) or []
    idx = _index(items, name, display, key, "permintaan.nama")
    node = CommentedMap(value)
    node.fa.set_flow_style()
    items[idx][field] = node
    expected[key][idx][field] = dict(value)
    return _check(text, _dump(y, data), expected, {"replace", "insert"}, display)


def add_wifi(text: str, display: str, wifi: dict[str, Any] | None, building: str, ap: str) -> str:
    """Add access point `ap` to `building`'s ``access_points`` and, if given, the OPD's
    ``wifi`` mapping (issue 20): the building's line changes, the wifi lines are added."""
    y, data = load_round_trip(text, display)
    expected = _plain(text)
    buildings = data.get("buildings") or []
    idx = _index(buildings, building, display, "buildings", "permintaan.gedung")
    node = buildings[idx]
    aps = node.get("access_points")
    if aps is None:
        seq = CommentedSeq([ap])
        seq.fa.set_flow_style()
        node["access_points"] = seq
    else:
        aps.append(ap)
    expected["buildings"][idx]["access_points"] = [
        *(expected["buildings"][idx].get("access_points") or []),
        ap,
    ]
    if wifi is not None:
        after = [k for k in OPD_KEY_ORDER[: OPD_KEY_ORDER.index("wifi")] if k in data]
        pos = list(data).index(after[-1]) + 1 if after else len(data)
        data.insert(pos, "wifi", CommentedMap(wifi))
        expected["wifi"] = dict(wifi)
    return _check(text, _dump(y, data), expected, {"insert", "replace"}, display)


def remove_item(text: str, display: str, key: str, name: str) -> str:
    """Remove the list item named `name`; an emptied list is removed with its key."""
    y, data = load_round_trip(text, display)
    expected = _plain(text)
    items = data.get(key) or []
    idx = _index(items, name, display, key, "permintaan.nama")
    del items[idx]
    del expected[key][idx]
    if not items:
        del data[key]
        del expected[key]
    return _check(text, _dump(y, data), expected, {"delete"}, display)
