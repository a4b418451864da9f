"""Locate the Pulumi engine (CLI + Python language host) that dcctl drives.

Why this exists: PyPI ships only the Pulumi *SDKs*; the engine itself (the ``pulumi`` CLI,
``pulumi-language-python`` and the Python shims) is not available from any registry on
our build/lab machines. ``scripts/install-pulumi`` therefore builds it from Go sources,
pinned to the version of the installed ``pulumi`` SDK, into a per-version cache outside
the repository::

    ${DCCTL_CACHE:-~/.cache/dcctl}/pulumi/v<version>/bin

The Automation API runs ``pulumi`` from ``PATH`` and the engine finds its plugins
(``pulumi-language-python``, ``pulumi-resource-pulumi-python``) on ``PATH`` too, so
callers invoke :func:`ensure_on_path` before creating stacks.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["cache_root", "engine_bin_dir", "engine_version", "ensure_on_path", "sdk_version"]

_VERSION_TIMEOUT_S = 30


def sdk_version() -> str | None:
    """Version of the installed ``pulumi`` Python SDK (e.g. ``"3.272.0"``), or None."""
    try:
        return importlib.metadata.version("pulumi")
    except importlib.metadata.PackageNotFoundError:
        return None


def cache_root() -> Path:
    """Directory holding one ``v<version>/bin`` per built engine version."""
    base = os.environ.get("DCCTL_CACHE") or str(Path.home() / ".cache" / "dcctl")
    return Path(base) / "pulumi"


def _wanted_version(version: str | None) -> str | None:
    wanted = version or os.environ.get("PULUMI_VERSION") or sdk_version()
    return wanted.removeprefix("v") if wanted else None


def _cli_version(pulumi: Path | str) -> str | None:
    """Run ``<pulumi> version``; return e.g. ``"3.272.0"`` or None if it does not work."""
    env = {**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    try:
        proc = subprocess.run(
            [str(pulumi), "version"],
            capture_output=True,
            text=True,
            timeout=_VERSION_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return None
    return lines[-1].strip().removeprefix("v")


def _usable(bin_dir: Path, version: str) -> bool:
    pulumi = bin_dir / "pulumi"
    # No language host needed: dcctl runs programs inline through the Automation API.
    return os.access(pulumi, os.X_OK) and _cli_version(pulumi) == version


def engine_bin_dir(version: str | None = None) -> Path | None:
    """Directory containing a working ``pulumi`` of ``version``, or None.

    ``version`` defaults to ``$PULUMI_VERSION``, else the installed SDK's version. The
    cache built by ``scripts/install-pulumi`` is preferred; failing that, a ``pulumi`` on
    ``PATH`` is accepted when it reports the same version and has the Python language host
    next to it (same rule as the install script).
    """
    wanted = _wanted_version(version)
    if wanted is None:
        return None
    cached = cache_root() / f"v{wanted}" / "bin"
    if _usable(cached, wanted):
        return cached
    on_path = shutil.which("pulumi")
    if on_path:
        candidate = Path(on_path).resolve().parent
        if _usable(candidate, wanted):
            return candidate
    return None


def ensure_on_path() -> Path | None:
    """Prepend the engine bin dir to ``os.environ["PATH"]``; return it (None if absent).

    Also defaults ``PULUMI_SKIP_UPDATE_CHECK`` so the CLI does not phone home for updates
    (these machines have no route to get.pulumi.com).
    """
    bin_dir = engine_bin_dir()
    if bin_dir is None:
        return None
    entries = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    if not entries or Path(entries[0]) != bin_dir:
        entries = [str(bin_dir), *(p for p in entries if Path(p) != bin_dir)]
        os.environ["PATH"] = os.pathsep.join(entries)
    os.environ.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    return bin_dir


def engine_version() -> str | None:
    """Version reported by ``pulumi version`` (without the ``v``), or None.

    Uses the engine found by :func:`engine_bin_dir`, else whatever ``pulumi`` is on PATH.
    """
    bin_dir = engine_bin_dir()
    if bin_dir is not None:
        return _cli_version(bin_dir / "pulumi")
    on_path = shutil.which("pulumi")
    return _cli_version(on_path) if on_path else None
