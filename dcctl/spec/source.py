"""Safe YAML reading that remembers where every value came from.

libyaml (PyYAML's C parser) builds the node tree fast; we convert nodes to plain
data ourselves so that (a) every path gets a line/column for error messages,
(b) duplicate keys, unusual tags and alias bombs are refused instead of
silently accepted, and (c) huge or binary files never reach the parser.
ruamel.yaml is used only where a file is edited (tickets), since it is several
times slower to parse.

Speed (issue 17: a ten-times regency is 2 MB of YAML, 300,000 values): the line
marks are only read when something is wrong, so a document is converted by a lean
path that builds data alone (plain string keys, the usual scalar tags, the same
value and depth budget) and its path -> (line, column) map is made on first use,
by converting the file's text again with the full, marking path. Anything unusual
(a merge key, a duplicate or non-string key, an odd tag, a budget exceeded) sends
the document down the full path at once, so its errors are exactly those of the
full path. The resolver caches the tag of each plain scalar seen in a file.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.resolver import Resolver

from dcctl.i18n import _
from dcctl.spec.errors import SpecError

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - wheels ship libyaml
    _Loader = yaml.SafeLoader

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


@dataclass
class SourceDoc:
    """One YAML document with its data and a path -> (line, column) map.

    `marks` is filled on first use from `text` (the whole file) when the document was
    read by the lean path; see the module docstring.
    """

    file: str
    index: int
    data: Any
    _marks: dict[tuple[Any, ...], tuple[int, int]] | None = field(default=None, repr=False)
    text: str | None = field(default=None, repr=False, compare=False)

    @property
    def marks(self) -> dict[tuple[Any, ...], tuple[int, int]]:
        if self._marks is None:
            self._marks = {}
            if self.text is not None:
                _mark(self)
        return self._marks

    def locate(self, path: tuple[Any, ...]) -> tuple[int | None, int | None]:
        """Line/column of the deepest part of `path` that exists in the file."""
        p = tuple(path)
        while p:
            if p in self.marks:
                return self.marks[p]
            p = p[:-1]
        return self.marks.get((), (None, None))

    def error(self, path: tuple[Any, ...], message: str, hint: str | None = None) -> SpecError:
        from dcctl.spec.errors import format_path

        line, col = self.locate(path)
        return SpecError(self.file, line, col, format_path(path), message, hint)


class _Budget:
    def __init__(self) -> None:
        self.nodes = 0


def _convert(
    node: yaml.Node,
    path: tuple[Any, ...],
    doc: SourceDoc,
    budget: _Budget,
    errors: list[SpecError],
    depth: int = 0,
) -> Any:
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        raise _TooBig(_("document expands to too many values (alias bomb or oversized spec)"))
    if depth > MAX_DEPTH:
        raise _TooBig(_("nesting deeper than {n} levels").format(n=MAX_DEPTH))
    doc.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                errors.append(
                    doc.error(
                        path,
                        _("YAML merge keys (<<) are not supported"),
                        _("write the fields out; specs stay explicit"),
                    )
                )
                continue
            key = _convert(knode, path, doc, budget, errors, depth + 1)
            if not isinstance(key, (str, int)):
                errors.append(doc.error(path, _("mapping keys must be plain strings")))
                continue
            kpath = (*path, key)
            doc.marks[kpath] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            if key in out:
                errors.append(
                    doc.error(
                        kpath,
                        _("duplicate key {key!r}").format(key=key),
                        _("each key once per mapping"),
                    )
                )
                continue
            out[key] = _convert(vnode, kpath, doc, budget, errors, depth + 1)
            doc.marks[kpath] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*path, i), doc, budget, errors, depth + 1)
            for i, item in enumerate(node.value)
        ]
    assert isinstance(node, yaml.ScalarNode)
    if node.tag == "tag:yaml.org,2002:timestamp":
        return node.value  # dates stay text; no spec field is a timestamp
    if node.tag not in _SCALAR_TAGS:
        errors.append(
            doc.error(
                path, _("unsupported YAML tag {tag}").format(tag=node.tag), _("remove the tag")
            )
        )
        return None
    # Resolve the scalar with the safe constructor's rules (int, bool, null...).
    return _SCALAR.yaml_constructors[node.tag](_SCALAR, node)


class _TooBig(Exception):
    pass


class _Unusual(Exception):
    """The lean path met something only the full path reports exactly."""


_SCALAR = yaml.SafeLoader("")
_STR = "tag:yaml.org,2002:str"
_CONSTRUCT = _SCALAR.yaml_constructors
#: Constructed non-string scalars (ints, booleans, null: immutable) by (tag, text).
_VALUES: dict[tuple[str, str], Any] = {}
#: First characters with which a plain scalar may resolve to something other than a
#: string: PyYAML keys its implicit resolvers by first character, so a plain scalar
#: starting with any other character (most names and words) is a string without
#: running a single regular expression. None (no shortcut) when a wildcard or path
#: resolver exists, since then any first character may be typed.
_MAYBE_TYPED: frozenset[str] | None = (
    None
    if None in _Loader.yaml_implicit_resolvers or _Loader.yaml_path_resolvers
    else frozenset(_Loader.yaml_implicit_resolvers)
)


class _FastLoader(_Loader):  # type: ignore[misc,valid-type]
    """libyaml's loader with the per-node resolver hooks made cheap.

    We register no path resolvers, so descending and ascending do nothing (C-level
    no-ops stand in for PyYAML's Python methods), and the tag of a plain scalar is
    cached per file: the same words (``daily``, ``2``, ``linux``) recur thousands of
    times. The tags are exactly PyYAML's (its own resolver fills the cache).
    """

    descend_resolver = slice  # (parent, index) -> ignored
    ascend_resolver = tuple  # () -> ignored

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._tags: dict[str, str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR
            tag = self._tags.get(value)
            if tag is None:
                tag = self._tags[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)


def _lean(node: yaml.Node, budget: _Budget, depth: int = 0) -> Any:
    """Plain data of a node, no marks; raises _Unusual for anything but the usual."""
    budget.nodes += 1
    if budget.nodes > MAX_NODES or depth > MAX_DEPTH:
        raise _Unusual
    tag = node.tag
    if tag == _STR:
        return node.value
    cls = node.__class__
    if cls is yaml.MappingNode:
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            if knode.tag != _STR or knode.__class__ is not yaml.ScalarNode:
                raise _Unusual  # merge key, int key, complex key
            budget.nodes += 1
            key = knode.value
            if key in out:
                raise _Unusual
            out[key] = _lean(vnode, budget, depth + 1)
        return out
    if cls is yaml.SequenceNode:
        return [_lean(item, budget, depth + 1) for item in node.value]
    value = _VALUES.get((tag, node.value), _VALUES)
    if value is _VALUES:
        if tag not in _SCALAR_TAGS:
            raise _Unusual
        if len(_VALUES) > 4096:
            _VALUES.clear()
        value = _VALUES[tag, node.value] = _CONSTRUCT[tag](_SCALAR, node)
    return value


_NO_KEY = object()
_SCALAR_EVENT = yaml.ScalarEvent
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _lean_stream(text: str) -> list[Any] | None:
    """Every document's plain data straight from libyaml's events, or None.

    The leanest path: no node tree at all (a third less time than composing nodes
    first). It takes only plain documents: no anchor, alias or explicit tag, string
    keys only, each once, no value the safe constructor would not give as it is,
    within the depth and value budgets. Anything else, a syntax error included,
    returns None and the file is read again by the node path, whose results and
    errors are then exactly the full path's.
    """
    loader = _FastLoader(text)
    get = loader.get_event
    tags = loader._tags
    maybe_typed = _MAYBE_TYPED
    docs: list[Any] = []
    try:
        get()  # stream start
        while not isinstance(get(), yaml.StreamEndEvent):  # a document starts
            budget = 0
            stack: list[Any] = []  # open mappings and sequences
            keys: list[Any] = []  # per open mapping: its pending key, or _NO_KEY
            root: Any = None
            while True:
                event = get()
                cls = event.__class__
                if cls is _SCALAR_EVENT:
                    if event.anchor is not None or event.tag not in (None, "!"):
                        return None
                    value = event.value
                    if event.implicit[0]:
                        if maybe_typed is not None and value and value[0] not in maybe_typed:
                            tag = _STR
                        else:
                            tag = tags.get(value)
                        if tag is None:
                            tag = tags[value] = Resolver.resolve(
                                loader, yaml.ScalarNode, value, event.implicit
                            )
                        if tag != _STR:
                            cached = _VALUES.get((tag, value), _VALUES)
                            if cached is _VALUES:
                                if tag not in _SCALAR_TAGS:
                                    return None  # a timestamp: the node path keeps it text
                                cached = _CONSTRUCT[tag](_SCALAR, yaml.ScalarNode(tag, value))
                                _VALUES[tag, value] = cached
                            value = cached
                    else:
                        tag = _STR
                    budget += 1
                elif cls in _OPENS:
                    if event.anchor is not None or event.tag not in (None, "!"):
                        return None
                    if len(stack) >= MAX_DEPTH:
                        return None
                    value = {} if cls is yaml.MappingStartEvent else []
                    tag = None
                    budget += 1
                elif cls in _CLOSES:
                    stack.pop()
                    keys.pop()
                    continue
                elif cls is yaml.DocumentEndEvent:
                    break
                else:
                    return None  # an alias
                if stack:
                    top = stack[-1]
                    if top.__class__ is dict:
                        key = keys[-1]
                        if key is _NO_KEY:
                            if tag != _STR or value in top:
                                return None  # not a string key, or a duplicate one
                            keys[-1] = value
                            continue
                        top[key] = value
                        keys[-1] = _NO_KEY
                    else:
                        top.append(value)
                else:
                    root = value
                if tag is None:
                    stack.append(value)
                    keys.append(_NO_KEY)
            if budget > MAX_NODES:
                return None
            docs.append(root)
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()
    return docs


def _mark(doc: SourceDoc) -> None:
    """Fill `doc`'s marks by converting its document again along the full path."""
    assert doc.text is not None and doc._marks is not None
    loader = _FastLoader(doc.text)
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if index == doc.index and node is not None:
                with contextlib.suppress(_TooBig):
                    _convert(node, (), doc, _Budget(), [])
                return
            index += 1
    finally:
        loader.dispose()


def _file_error(display: str, message: str, hint: str | None = None) -> list[SpecError]:
    """An error about the whole file (no line): its size, encoding or readability."""
    return [SpecError(display, None, None, "", message, hint)]


def read_yaml(path: Path, display: str) -> tuple[list[SourceDoc], list[SpecError]]:
    """Parse every document of one file; never raises for bad content."""
    errors: list[SpecError] = []
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], _file_error(
                display,
                _("file is {size} bytes, over the {limit} byte limit").format(
                    size=size, limit=MAX_FILE_BYTES
                ),
                _("split it or remove junk"),
            )
        raw = path.read_bytes()
    except OSError as exc:
        return [], _file_error(display, _("cannot read file: {why}").format(why=exc.strerror))
    encoding = _wide_encoding(raw)
    if encoding is not None:
        return [], _file_error(
            display,
            _(
                'file is encoded as {encoding} (Windows Notepad calls it "Unicode"), not UTF-8'
            ).format(encoding=encoding),
            _("save it as UTF-8 (Notepad: Save As, Encoding: UTF-8)"),
        )
    if b"\x00" in raw:
        return [], _file_error(
            display, _("binary file (NUL bytes)"), _("spec files are UTF-8 YAML text")
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return [], [
            SpecError(
                display, line, None, "", _("not valid UTF-8 text"), _("save the file as UTF-8")
            )
        ]
    # A UTF-8 BOM at the very start is allowed by YAML (and kept by dcctl's edits);
    # anywhere else it is an invisible character that breaks a key or a value.
    stray = text.find("\ufeff", 1)
    if stray >= 0:
        line = text.count("\n", 0, stray) + 1
        col = stray - (text.rfind("\n", 0, stray) + 1) + 1
        return [], [
            SpecError(
                display,
                line,
                col,
                "",
                _("byte order mark (BOM, U+FEFF) inside the file"),
                _("files pasted together keep each one's BOM; delete the invisible character"),
            )
        ]
    lean = _lean_stream(text)
    if lean is not None:
        return [SourceDoc(display, i, data, text=text) for i, data in enumerate(lean)], []
    docs: list[SourceDoc] = []
    try:
        loader = _FastLoader(text)
        try:
            index = 0
            while loader.check_node():
                node = loader.get_node()
                doc = SourceDoc(display, index, None, text=text)
                index += 1
                if node is None:
                    continue
                try:
                    doc.data = _lean(node, _Budget())
                    docs.append(doc)
                    continue
                except _Unusual:
                    doc._marks = {}
                try:
                    doc.data = _convert(node, (), doc, _Budget(), errors)
                except _TooBig as exc:
                    errors.append(doc.error((), str(exc), _("anchors and aliases are expanded")))
                    continue
                docs.append(doc)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        msg = exc.problem or exc.context or _("YAML syntax error")
        tab = _tab_near(text, line)
        if tab is not None:
            errors.append(
                SpecError(
                    display,
                    tab[0],
                    tab[1],
                    "",
                    _("tab character in the indentation: YAML indents with spaces only"),
                    _("replace the tab with spaces (set the editor to insert spaces for Tab)"),
                )
            )
        else:
            errors.append(
                SpecError(
                    display,
                    line,
                    col,
                    "",
                    _("YAML syntax error: {problem}").format(problem=msg),
                    _("check indentation, quotes and ':' after keys"),
                )
            )
    except yaml.YAMLError as exc:
        errors.append(
            SpecError(display, None, None, "", _("YAML error: {problem}").format(problem=exc))
        )
    except RecursionError:
        errors.append(SpecError(display, None, None, "", _("YAML nested too deeply")))
    return docs, errors


def _wide_encoding(raw: bytes) -> str | None:
    """ "UTF-16 LE/BE" (or UTF-32) when the bytes are such a text, by BOM or by NUL pattern.

    Windows Notepad's "Unicode" is UTF-16 LE with a BOM; called "binary" it left the
    engineer guessing.
    """
    for bom, name in (
        (b"\xff\xfe\x00\x00", "UTF-32 LE"),
        (b"\x00\x00\xfe\xff", "UTF-32 BE"),
        (b"\xff\xfe", "UTF-16 LE"),
        (b"\xfe\xff", "UTF-16 BE"),
    ):
        if raw.startswith(bom):
            return name
    head = raw[:200]
    if len(head) >= 4 and b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > len(odd) * 0.8 and even.count(0) < len(even) * 0.2:
            return "UTF-16 LE"
        if even.count(0) > len(even) * 0.8 and odd.count(0) < len(odd) * 0.2:
            return "UTF-16 BE"
    return None


def _tab_near(text: str, line: int | None) -> tuple[int, int] | None:
    """(line, column) of a tab in the indentation at or just before the error's line.

    libyaml reports a tab as "found character that cannot start any token", often
    on the line after it; the engineer needs the word "tab" and where it is.
    """
    if line is None:
        return None
    lines = text.split("\n")
    for n in (line, line - 1):
        if 1 <= n <= len(lines):
            body = lines[n - 1]
            indent = body[: len(body) - len(body.lstrip(" \t"))]
            if "\t" in indent:
                return n, indent.index("\t") + 1
    return None


class DataFileError(ValueError):
    """A state file (lock, snapshot) that is unsafe or unreadable; the message says why."""


def _check_json(value: Any, budget: _Budget, depth: int = 0) -> None:
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        raise _TooBig(_("document expands to too many values (oversized file)"))
    if depth > MAX_DEPTH:
        raise _TooBig(_("nesting deeper than {n} levels").format(n=MAX_DEPTH))
    children = value.values() if isinstance(value, dict) else value
    if isinstance(value, dict | list):
        for child in children:
            _check_json(child, budget, depth + 1)


def load_data(path: Path, display: str | None = None) -> Any:
    """Plain data of one YAML (or ``.json``) state file, under the spec loader's limits.

    The one way dcctl reads its own files (the IPAM lock, snapshots) as it reads
    specs: size, UTF-8, alias bomb, depth and tag limits of :func:`read_yaml`, so a
    hostile ``dcctl.lock.yaml`` is refused quickly with a clear error instead of
    costing minutes and gigabytes. JSON is parsed as JSON (its floats are not
    YAML 1.1's), with the same size, depth and value-count limits. Raises
    :class:`DataFileError`; a missing file raises FileNotFoundError.
    """
    display = display or str(path)
    if path.suffix == ".json":
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DataFileError(
                f"{display}: "
                + _("file is {size} bytes, over the {limit} byte limit").format(
                    size=size, limit=MAX_FILE_BYTES
                )
            )
        try:
            data = json.loads(path.read_bytes())
            _check_json(data, _Budget())
        except (ValueError, RecursionError, _TooBig) as exc:
            raise DataFileError(f"{display}: {exc}") from None
        return data
    if not path.exists():
        raise FileNotFoundError(path)
    docs, errors = read_yaml(path, display)
    if errors:
        shown = "; ".join(str(e) for e in errors[:3])
        more = " (" + _("and {n} more").format(n=len(errors) - 3) + ")"
        raise DataFileError(shown + (more if len(errors) > 3 else ""))
    if len(docs) > 1:
        raise DataFileError(f"{display}: " + _("more than one YAML document"))
    return docs[0].data if docs else None
