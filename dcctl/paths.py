"""Where dcctl's own files are: the tree it was installed from and the playbooks it ships.

One home, because the answer differs by install: in a Git checkout the package
sits in the repository (``<repo>/dcctl``) and ``playbooks/`` is next to it; in a
wheel install there is no repository, so the playbooks travel inside the package
as ``dcctl/playbooks`` (in the checkout that is a symlink to ``../playbooks``, so
``ansible-playbook playbooks/site.yml`` and the roles' own paths stay as they are).
Code that guessed with ``Path(__file__).parents[n]`` broke in the wheel.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["PACKAGE_ROOT", "playbooks_dir", "repo_root"]

#: The installed ``dcctl`` package directory.
PACKAGE_ROOT = Path(__file__).resolve().parent


def repo_root() -> Path:
    """The directory holding the ``dcctl`` package.

    In a checkout that is the repository (``scripts/``, ``examples/`` live
    there); in a wheel install it is ``site-packages``, which is why only
    checkout-only tools (lab image builds) look for files beside the package.
    """
    return PACKAGE_ROOT.parent


def playbooks_dir() -> Path:
    """``playbooks/`` (site.yml and the roles), found as package data so a wheel has it.

    Resolved, so a checkout's symlink yields ``<repo>/playbooks`` itself and the
    paths Ansible prints and tests compare are the familiar ones.
    """
    return Path(str(files("dcctl").joinpath("playbooks"))).resolve()
