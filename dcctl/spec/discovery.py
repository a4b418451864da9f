"""Which files of a spec repo are dcctl documents: one rule a user can predict.

A spec repo is also where the pipeline file, tickets, READMEs and scratch files live,
so "every YAML file" is the wrong rule (`.gitlab-ci.yml` has no apiVersion). The rule:

1. Never looked at: anything whose path has a part starting with `.` (`.git`,
   `.gitlab-ci.yml`, `.github/`), `state/` (what applies write), `node_modules`,
   `.venv`, and the IPAM lock `dcctl.lock.yaml`.
2. Skipped: files Git ignores (asked of `git check-ignore`, so `.gitignore`,
   `.git/info/exclude` and the global excludes all count; outside a Git work tree
   nothing is git-ignored) and files matching a pattern in the root's `.dcctlignore`
   (gitignore syntax without `!`: `*` within a name, `**` across folders, a leading
   `/` or an inner `/` anchors to the root, a trailing `/` matches a folder).
3. Of the `*.yaml` / `*.yml` files left, read: `site.yaml` (or `site.yml`) at the root,
   every file under `opd/`, and any other file with a line `apiVersion: dcctl/...`.
   Layout files are always read, so a spec file that lost its apiVersion is an error,
   not silently skipped; a ticket under `tickets/` has no apiVersion and is skipped.

`validate` prints the files it read and the YAML files it skipped, with the reason.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from dcctl.i18n import N_

#: Folders never entered (besides every dot-folder).
SKIP_DIRS = frozenset({"state", "node_modules", "__pycache__"})
LOCK_NAME = "dcctl.lock.yaml"
IGNORE_FILE = ".dcctlignore"
_SUFFIXES = (".yaml", ".yml")
_LAYOUT_ROOT = ("site.yaml", "site.yml")
_LAYOUT_DIR = "opd"
# A line declaring a dcctl apiVersion: block or flow style, quoted or not.
_API_RE = re.compile(rb"""^[ \t-]*["']?apiVersion["']?[ \t]*:[ \t]*["']?dcctl/""", re.M)
_GIT_TIMEOUT = 30


@dataclass
class Discovery:
    """The result: spec files to read, and YAML files skipped with the reason why."""

    files: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # relative path -> reason


def discover_specs(root: Path) -> Discovery:
    """Apply the rule above to `root` (a directory; a single file is read as given)."""
    if root.is_file():
        return Discovery([root])
    candidates: list[str] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        parts = rel.parts
        if any(p.startswith(".") for p in parts) or any(p in SKIP_DIRS for p in parts[:-1]):
            continue
        if path.suffix not in _SUFFIXES or rel.as_posix() == LOCK_NAME or not path.is_file():
            continue
        candidates.append(rel.as_posix())
    out = Discovery()
    patterns = read_ignore_file(root / IGNORE_FILE)
    ignored = git_ignored(root, candidates)
    for rel in candidates:
        if rel in ignored:
            out.skipped[rel] = N_("git-ignored")
        elif any(_matches(p, rel) for p in patterns):
            out.skipped[rel] = IGNORE_FILE
        elif _is_layout(rel) or _declares_dcctl(root / rel):
            out.files.append(root / rel)
        else:
            out.skipped[rel] = N_("not a dcctl document: no apiVersion dcctl/...")
    return out


def _is_layout(rel: str) -> bool:
    """site.yaml at the root, or a file under opd/: read whatever it contains."""
    return rel in _LAYOUT_ROOT or rel.split("/", 1)[0] == _LAYOUT_DIR


def _declares_dcctl(path: Path) -> bool:
    """True when a line of the file names a dcctl apiVersion (read at most 4 MiB)."""
    try:
        with path.open("rb") as f:
            return _API_RE.search(f.read(4 * 1024 * 1024)) is not None
    except OSError:
        return True  # let the loader report the unreadable file with its reason


def git_ignored(root: Path, rel_paths: list[str]) -> set[str]:
    """Those of `rel_paths` (relative to root) that Git ignores; empty outside a work tree.

    Tracked files are never reported (git check-ignore's own rule), so a spec file
    committed before someone ignored its pattern keeps being read, as Git keeps it.
    """
    if not rel_paths:
        return set()
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "check-ignore", "-z", "--stdin"],
            input=b"\0".join(p.encode() for p in rel_paths) + b"\0",
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return set()  # no git: nothing is git-ignored
    if proc.returncode not in (0, 1):  # 128: not a work tree
        return set()
    return {p.decode() for p in proc.stdout.split(b"\0") if p}


def read_ignore_file(path: Path) -> list[str]:
    """Patterns of a `.dcctlignore` (blank lines and `#` comments dropped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#")]


def _matches(pattern: str, rel: str) -> bool:
    """gitignore-style match of one pattern against a file path relative to the root."""
    directory = pattern.endswith("/")
    pat = pattern.strip("/")
    if not pat:
        return False
    parts = rel.split("/")
    # Paths to test: the file itself and each folder above it (a folder pattern
    # matches everything inside the folder).
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    if directory:
        prefixes = prefixes[:-1]
    anchored = pattern.startswith("/") or "/" in pat
    for prefix in prefixes:
        if anchored:
            if _glob(pat, prefix):
                return True
        elif fnmatch.fnmatchcase(prefix.rsplit("/", 1)[-1], pat):
            return True
    return False


def _glob(pat: str, path: str) -> bool:
    """`*` stays within a name, `**` crosses folders (gitignore semantics)."""
    rx = ""
    i = 0
    while i < len(pat):
        if pat.startswith("**/", i):
            rx += "(?:.*/)?"
            i += 3
        elif pat.startswith("**", i):
            rx += ".*"
            i += 2
        elif pat[i] == "*":
            rx += "[^/]*"
            i += 1
        elif pat[i] == "?":
            rx += "[^/]"
            i += 1
        else:
            rx += re.escape(pat[i])
            i += 1
    return re.fullmatch(rx, path) is not None


def find_root(start: Path) -> Path | None:
    """The spec repo around `start` (a folder or a file in it), found upward like git's.

    A spec root is the nearest folder, from `start` up, that holds the layout's
    `site.yaml`/`site.yml` or the IPAM lock: so `dcctl validate` inside `opd/`, or
    `dcctl validate opd/dinkes.yaml`, reads the whole repo that file belongs to
    (an OPD file alone cannot be checked: its VLANs, ports and quotas are the
    Site's). None when no folder up to `/` is one.
    """
    here = start.resolve()
    if not here.is_dir():
        here = here.parent
    for folder in (here, *here.parents):
        if any((folder / name).is_file() for name in (*_LAYOUT_ROOT, LOCK_NAME)):
            return folder
    return None
