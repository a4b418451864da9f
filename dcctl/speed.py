"""What keeps the offline commands (validate, plan, show, report) fast at ten times the benchmark.

Issue 17 measured them at 600 OPDs, 4,000 VMs and 8,000 cameras (2 MB of YAML,
300,000 values, 30,000 planned changes). The rules that got them there, which a
change must keep (`benchmarks/bench_spec.py` prints the figures, x1/x4/x10):

- Nothing heavy at import: the CLI mounts sub-apps lazily and a module imports
  Pulumi, Ansible, netmiko, hier-config, ruamel or Jinja2 inside the function
  that needs it, never at the top of anything `validate`/`plan` import
  (`tests/unit/test_offline_speed.py` checks the list).
- No pair-by-pair loop over a fleet: cross-document checks key by value (a dict,
  a sorted sweep), never compare every entry with every other one.
- netaddr objects are for answers, not for loops over thousands of entries:
  integers and bisection (`spec/ipam.py`), parsed once (`functools.cache`).
- Marks (file, line, column) are made when an error needs them
  (`spec/source.py`); a lock in dcctl's own form is read by a line reader.
- The big builders run with the cyclic garbage collector paused (:func:`paused_gc`).
- Read once, encode in C: the lock is read once per run (``Spec.lock``), JSON is
  written by orjson (``output.json_bytes``), and a plain scalar goes through PyYAML's
  resolvers only when its first character is one they key on (``spec/source.py``).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large, acyclic structure is built.

    Building a x10 spec, its desired state and its plan allocates millions of dicts,
    tuples and models that stay alive; each allocation burst triggers collections that
    scan all of them again (a third of `plan`'s time). Reference counting still frees
    everything that is not a cycle, and the collector resumes (and catches up) after.
    Nested use is fine: only the outermost pause turns it back on.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def gc_paused(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of :func:`paused_gc`."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with paused_gc():
            return fn(*args, **kwargs)

    return wrapper
