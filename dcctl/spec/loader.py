"""Load a spec repo: files -> located documents -> models -> checks -> IPAM.

The loader never stops at the first problem: every file is read, every
document validated, and cross-checks run on whatever validated, so one
`dcctl validate` shows everything that is wrong at once.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dcctl.spec.discovery import discover_specs
from dcctl.spec.errors import SpecError, SpecErrors
from dcctl.spec.ipam import Allocation, Lock
from dcctl.spec.site import Site
from dcctl.spec.source import SourceDoc, read_yaml
from dcctl.spec.tenancy import Opd
from dcctl.spec.types import API_VERSION

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
        f = cur.model_fields.get(str(part))
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
            msg = f"unknown field {loc[-1]!r}"
            if owner is not None:
                allowed = list(owner.model_fields)
                close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(allowed)
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] in (
            "string_type",
            "int_type",
            "bool_type",
            "list_type",
            "dict_type",
            "model_type",
        ):
            got = type(err.get("input")).__name__
            msg = f"{msg} (got {got})"
            if isinstance(err.get("input"), bool):
                hint = "YAML reads yes/no/on/off as booleans; quote the value"
        out.append(doc.error(loc, msg, hint))
    return out


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
                    f"is a symbolic link leading outside the spec repo ({path.resolve()})",
                    "replace the link with the file itself",
                )
            )
            continue
        docs, errs = read_yaml(path, display)
        errors.extend(errs)
        for doc in docs:
            if not isinstance(doc.data, dict):
                errors.append(doc.error((), "a spec document must be a mapping with 'kind'"))
                continue
            kind = doc.data.get("kind")
            if "apiVersion" not in doc.data:
                errors.append(
                    doc.error((), "missing apiVersion", f"add 'apiVersion: {API_VERSION}'")
                )
                continue
            if doc.data.get("apiVersion") != API_VERSION:
                errors.append(
                    doc.error(
                        ("apiVersion",),
                        f"unsupported apiVersion {doc.data.get('apiVersion')!r}",
                        f"use {API_VERSION}",
                    )
                )
                continue
            model = KINDS.get(kind) if isinstance(kind, str) else None
            if model is None:
                errors.append(
                    doc.error(
                        ("kind",) if "kind" in doc.data else (),
                        f"unknown kind {kind!r}",
                        "one of: " + ", ".join(KINDS),
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
                "no spec files found",
                "dcctl reads site.yaml, opd/*.yaml and YAML files with 'apiVersion: dcctl/v1'",
            )
        )
    return models, errors, shown, found.skipped


def load_spec(root: Path | str) -> Spec:
    """Load and fully validate a spec repo; raise SpecErrors with every problem."""
    from dcctl.spec.checks import check_disks, check_spec, plan_ipam

    root = Path(root)
    if not root.exists():
        raise SpecErrors([SpecError(str(root), None, None, "", "no such file or directory")])
    models, errors, shown, skipped = _parse(root)
    site_docs = [(d, m) for d, m in models if isinstance(m, Site)]
    opds: dict[str, Opd] = {}
    sources: dict[str, SourceDoc] = {}
    for doc, m in models:
        if isinstance(m, Opd):
            if m.code in opds:
                first = sources[f"opd/{m.code}"]
                errors.append(
                    doc.error(
                        ("code",),
                        f"duplicate OPD code {m.code!r}",
                        f"already defined in {first.file}",
                    )
                )
                continue
            opds[m.code] = m
            sources[f"opd/{m.code}"] = doc
    if not site_docs and errors:
        raise SpecErrors(errors)  # the Site failed validation; its errors say why
    if len(site_docs) != 1:
        where = ", ".join(d.file for d, _ in site_docs) or "none found"
        errors.append(
            SpecError(str(root), None, None, "", f"exactly one Site document is required ({where})")
        )
        raise SpecErrors(errors)
    site_doc, site = site_docs[0]
    assert isinstance(site, Site)
    sources["site"] = site_doc
    opds = dict(sorted(opds.items()))
    errors.extend(check_spec(site, opds, sources))
    try:
        lock = Lock.read(root if root.is_dir() else root.parent)
    except Exception as exc:  # OSError, or YAML/type errors in a hand-edited lock
        errors.append(
            SpecError(
                "dcctl.lock.yaml",
                None,
                None,
                "",
                f"unreadable lock file: {exc}",
                "restore it from Git, or delete it to re-allocate",
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
        files=shown,
        skipped=skipped,
    )
