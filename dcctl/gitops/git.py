"""Git as dcctl runs it: argument lists (never a shell), no prompts, C locale, a timeout.

One helper for every caller (ticket branches, lock checks, CODEOWNERS, service levels),
kept free of heavy imports so `dcctl validate --against` stays fast in a pre-commit hook.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from dcctl.i18n import _

_TIMEOUT = 60


class GitError(RuntimeError):
    """A git command failed; the message carries git's own words."""


def git(cwd: Path, *args: str, data: bytes | None = None, env: dict[str, str] | None = None) -> str:
    """Run git with an argument list in `cwd` and return its stdout."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    try:
        proc = subprocess.run(
            ["git", "-C", str(cwd), *args],
            input=data,
            capture_output=True,
            env=full_env,
            timeout=_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise GitError(_("git is not installed")) from None
    except subprocess.TimeoutExpired:
        raise GitError(_("git {command} timed out").format(command=args[0])) from None
    if proc.returncode != 0:
        said = proc.stderr.decode(errors="replace").strip()
        msg = said or _("exit {rc}").format(rc=proc.returncode)
        raise GitError(f"git {args[0]}: {msg}")
    return proc.stdout.decode(errors="replace")
