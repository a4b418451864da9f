"""Load a spec repo: files -> located documents -> models -> checks -> IPAM.

The loader never stops at the first problem: every file is read, every
document validated, and cross-checks run on whatever validated, so one
`dcctl validate` shows everything that is wrong at once.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dcctl.i18n import N_, _
from dcctl.spec.age import DocumentAge
from dcctl.spec.discovery import discover_specs
from dcctl.spec.errors import SpecError, SpecErrors
from dcctl.spec.ipam import Allocation, Lock
from dcctl.spec.site import Site
from dcctl.spec.source import SourceDoc, read_yaml
from dcctl.spec.tenancy import Opd
from dcctl.spec.types import API_VERSION, ENUM_ALIASES
from dcctl.speed import gc_paused

KINDS: dict[str, type[BaseModel]] = {"Site": Site, "Opd": Opd}
STATE_DIR = "state"


@dataclass
class Spec:
    """The validated regency: one Site, its OPDs, and their IPAM allocation."""

    root: Path
    site: Site
    opds: dict[str, Opd]
    sources: dict[str, SourceDoc]  # "site" or "opd/<code>" -> where it came from
    allocation: Allocation
    lock_changed: bool = False
    #: The lock file as read (before this run's allocation): what `validate`'s lock
    #: conflict check examines, so the file is not read twice.
    lock: Lock = field(default_factory=Lock)
    files: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # YAML not read -> why

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR


def discover(root: Path) -> list[Path]:
    """Spec files under root, in a stable order (the rule: dcctl.spec.discovery)."""
    return discover_specs(root).files


def _model_at(model: Any, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Walk a model's annotations along an error location to the model owning the field."""
    cur: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(cur, type) and issubclass(cur, BaseModel)):
            return None
        f = {fi.alias or n: fi for n, fi in cur.model_fields.items()}.get(str(part))
        if f is None:
            return cur
        cur = _unwrap(f.annotation)
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def _unwrap(ann: Any) -> Any:
    while True:
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            ann = typing.get_args(ann)[0]
        elif origin in (list, tuple, dict):
            ann = typing.get_args(ann)[-1]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            ann = models[0] if models else args[0]
        else:
            return ann


def _pydantic_errors(
    doc: SourceDoc, model: type[BaseModel], exc: ValidationError
) -> list[SpecError]:
    out: list[SpecError] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        hint = None
        if err["type"] == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            msg = _("unknown field {name!r}").format(name=loc[-1])
            if owner is not None:
                # The names a document uses: a field's alias (``from``) where it has one.
                allowed = [f.alias or n for n, f in owner.model_fields.items()]
                close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
                hint = (
                    _("did you mean {name!r}?").format(name=close[0])
                    if close
                    else _("allowed: {names}").format(names=", ".join(allowed))
                )
        elif err["type"] == "literal_error":
            msg, hint = _enum_error(err)
        elif err["type"] == "missing":
            msg = _("required field is missing")
        elif err["type"] in PYDANTIC_MESSAGES:
            msg = _(PYDANTIC_MESSAGES[err["type"]]).format(**(err.get("ctx") or {}))
        if err["type"] in (
            "string_type",
            "int_type",
            "bool_type",
            "list_type",
            "dict_type",
            "model_type",
        ):
            got = type(err.get("input")).__name__
            msg = f"{msg} (" + _("got {type}").format(type=got) + ")"
            if isinstance(err.get("input"), bool):
                hint = _("YAML reads yes/no/on/off as booleans; quote the value")
        out.append(doc.error(loc, msg, hint))
    return out


#: pydantic's own messages by error type, as msgids (its English otherwise reaches an
#: Indonesian engineer). The English is pydantic's wording; placeholders are the
#: error's ``ctx`` keys.
PYDANTIC_MESSAGES: dict[str, str] = {
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "greater_than": N_("Input should be greater than {gt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "less_than": N_("Input should be less than {lt}"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "too_long": N_("should have at most {max_length} items, not {actual_length}"),
    "too_short": N_("should have at least {min_length} items, not {actual_length}"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "int_type": N_("Input should be a valid integer"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "bool_type": N_("Input should be a valid boolean"),
    "string_type": N_("Input should be a valid string"),
    "list_type": N_("Input should be a valid list"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid dictionary or instance of {class_name}"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "float_type": N_("Input should be a valid number"),
    "finite_number": N_("Input should be a finite number"),
    "multiple_of": N_("Input should be a multiple of {multiple_of}"),
    "enum": N_("Input should be {expected}"),
}


def _enum_error(err: Any) -> tuple[str, str | None]:
    """An enum value the spec does not know, with a "did you mean" over both languages.

    The candidates are the canonical values and their aliases of the other language
    (:data:`dcctl.spec.types.ENUM_ALIASES`): `pertanain` suggests `pertanian`
    (agriculture), `agricultre` suggests `agriculture`.
    """
    expected = tuple(re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", ""))))
    aliases = next((a for vals, a in ENUM_ALIASES.items() if set(expected) <= set(vals)), {})
    given = err.get("input")
    msg = _("{value!r} is not one of: {allowed}").format(value=given, allowed=", ".join(expected))
    if not isinstance(given, str):
        return msg, None
    words = [*expected, *aliases]
    close = difflib.get_close_matches(given.strip().lower(), words, n=1, cutoff=0.6)
    if not close:
        if aliases:
            return msg, _("Indonesian words are accepted too: {words}").format(
                words=", ".join(aliases)
            )
        return msg, None
    word = close[0]
    if word in aliases:
        return msg, _("did you mean {word!r} ({canonical})?").format(
            word=word, canonical=aliases[word]
        )
    return msg, _("did you mean {word!r}?").format(word=word)


def _parse(
    root: Path,
) -> tuple[list[tuple[SourceDoc, BaseModel]], list[SpecError], list[str], dict[str, str]]:
    found = discover_specs(root)
    files = found.files
    errors: list[SpecError] = []
    models: list[tuple[SourceDoc, BaseModel]] = []
    base = root if root.is_dir() else root.parent
    shown: list[str] = []
    for path in files:
        display = str(path.relative_to(base)) if path.is_relative_to(base) else str(path)
        shown.append(display)
        if path.is_symlink() and not path.resolve().is_relative_to(base.resolve()):
            # A spec file is the repo's: a link out of it is neither read nor written.
            errors.append(
                SpecError(
                    display,
                    None,
                    None,
                    "",
                    _("is a symbolic link leading outside the spec repo ({target})").format(
                        target=path.resolve()
                    ),
                    _("replace the link with the file itself"),
                )
            )
            continue
        docs, errs = read_yaml(path, display)
        errors.extend(errs)
        for doc in docs:
            if not isinstance(doc.data, dict):
                errors.append(doc.error((), _("a spec document must be a mapping with 'kind'")))
                continue
            kind = doc.data.get("kind")
            if "apiVersion" not in doc.data:
                errors.append(
                    doc.error(
                        (),
                        _("missing apiVersion"),
                        _("add 'apiVersion: {version}'").format(version=API_VERSION),
                    )
                )
                continue
            if doc.data.get("apiVersion") != API_VERSION:
                errors.append(
                    doc.error(
                        ("apiVersion",),
                        _("unsupported apiVersion {version!r}").format(
                            version=doc.data.get("apiVersion")
                        ),
                        _("use {version}").format(version=API_VERSION),
                    )
                )
                continue
            model = KINDS.get(kind) if isinstance(kind, str) else None
            if model is None:
                errors.append(
                    doc.error(
                        ("kind",) if "kind" in doc.data else (),
                        _("unknown kind {kind!r}").format(kind=kind),
                        _("one of: {names}").format(names=", ".join(KINDS)),
                    )
                )
                continue
            try:
                models.append((doc, model.model_validate(doc.data)))
            except ValidationError as exc:
                errors.extend(_pydantic_errors(doc, model, exc))
    if not files:
        errors.append(
            SpecError(
                str(root),
                None,
                None,
                "",
                _("no spec files found"),
                _("dcctl reads site.yaml, opd/*.yaml and YAML files with 'apiVersion: dcctl/v1'"),
            )
        )
    return models, errors, shown, found.skipped


@gc_paused
def load_spec(root: Path | str) -> Spec:
    """Load and fully validate a spec repo; raise SpecErrors with every problem.

    The raised SpecErrors carries the spec root, so its printer can show each path
    from the current directory with the offending source line.
    """
    root = Path(root)
    try:
        return _load_spec(root)
    except SpecErrors as exc:
        exc.root = root if root.is_dir() else root.parent
        raise


def _load_spec(root: Path) -> Spec:
    from dcctl.spec.checks import check_disks, check_spec, plan_ipam

    if not root.exists():
        raise SpecErrors([SpecError(str(root), None, None, "", _("no such file or directory"))])
    models, errors, shown, skipped = _parse(root)
    age = DocumentAge(root if root.is_dir() else root.parent)
    site_docs = [(d, m) for d, m in models if isinstance(m, Site)]
    opds: dict[str, Opd] = {}
    sources: dict[str, SourceDoc] = {}
    for doc, m in models:
        if isinstance(m, Opd):
            if m.code in opds:
                first = sources[f"opd/{m.code}"]
                if age.newer(first.file, doc.file):  # the error goes on the newer file
                    first, doc = doc, first
                    opds[m.code], sources[f"opd/{m.code}"] = m, first
                errors.append(
                    doc.error(
                        ("code",),
                        _("duplicate OPD code {code!r}").format(code=m.code),
                        _("already used by {file}").format(file=first.file),
                    )
                )
                continue
            opds[m.code] = m
            sources[f"opd/{m.code}"] = doc
    if not site_docs and errors:
        raise SpecErrors(errors)  # the Site failed validation; its errors say why
    if len(site_docs) != 1:
        where = ", ".join(d.file for d, _model in site_docs) or _("none found")
        errors.append(
            SpecError(
                str(root),
                None,
                None,
                "",
                _("exactly one Site document is required ({found})").format(found=where),
            )
        )
        raise SpecErrors(errors)
    site_doc, site = site_docs[0]
    assert isinstance(site, Site)
    sources["site"] = site_doc
    opds = dict(sorted(opds.items()))
    errors.extend(check_spec(site, opds, sources, root if root.is_dir() else root.parent))
    try:
        lock = Lock.read(root if root.is_dir() else root.parent)
    except Exception as exc:  # OSError, or YAML/type errors in a hand-edited lock
        errors.append(
            SpecError(
                "dcctl.lock.yaml",
                None,
                None,
                "",
                _("unreadable lock file: {problem}").format(problem=exc),
                _("restore it from Git, or delete it to re-allocate"),
            )
        )
        lock = Lock()
    allocation, ipam_errors = plan_ipam(site, opds, sources, lock)
    errors.extend(ipam_errors)
    allocation.disks, disk_errors = check_disks(opds, sources, lock)
    errors.extend(disk_errors)
    if errors:
        raise SpecErrors(errors)
    return Spec(
        root=root if root.is_dir() else root.parent,
        site=site,
        opds=opds,
        sources=sources,
        allocation=allocation,
        lock_changed=allocation.lock().to_dict() != lock.to_dict(),
        lock=lock,
        files=shown,
        skipped=skipped,
    )
