"""SIGINT/SIGTERM during a run: stop at the next safe point, never in the middle of a change.

Why not Python's default (KeyboardInterrupt anywhere, SIGTERM kills at once): an
exception raised in the middle of a switch push or between two Ansible plays
leaves half a change behind and no record of it, and SIGTERM (a CI job cancelled)
used to kill dcctl while its Ansible child, in its own session, ran on to the end.

Here the first signal only *asks* to stop: :func:`requested` turns true, the
engines' running children are told (Ansible and the Pulumi engine get SIGINT and
stop cleanly, as they would at a terminal), and every engine checks
:func:`requested` at its safe points: no new layer, play or switch starts, the
switch being pushed finishes its push, verification and save (or its rollback).
The run then ends as "interrupted": the audit log says so and the CLI exits
:func:`exit_code` (128 + the signal's number: 130 for SIGINT, 143 for SIGTERM). A
second signal forces the stop (KeyboardInterrupt), for a run that hangs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from dcctl.i18n import _

__all__ = [
    "exit_code",
    "interrupt_group",
    "on_stop",
    "requested",
    "reset",
    "safe_stop",
    "signal_name",
]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: The signal that asked the run to stop (None: not asked).
_received: list[int] = []
#: What to tell running children when a stop is asked (by registration id).
_stoppers: dict[int, Callable[[], None]] = {}
_lock = threading.Lock()
_depth = [0]


def requested() -> bool:
    """Whether a signal asked the run to stop (engines check this at their safe points)."""
    return bool(_received)


def signal_name() -> str | None:
    """``SIGINT`` or ``SIGTERM`` once a stop was asked, else None."""
    return signal.Signals(_received[0]).name if _received else None


def exit_code() -> int:
    """128 + the signal's number (130 for SIGINT, 143 for SIGTERM); 130 if none was seen."""
    return 128 + (_received[0] if _received else int(signal.SIGINT))


def reset() -> None:
    """Forget an earlier stop request (a new run in the same process, tests)."""
    _received.clear()


@contextlib.contextmanager
def on_stop(fn: Callable[[], None]) -> Iterator[None]:
    """Call ``fn`` (from the signal handler) if a stop is asked while inside the block.

    For engines whose child runs in its own session or does not get the terminal's
    signal (SIGTERM goes to dcctl alone): ``fn`` passes the stop on to it. When the
    stop was already asked on entry, ``fn`` runs at once.
    """
    key = id(fn)
    with _lock:
        _stoppers[key] = fn
    if _received:
        _call(fn)
    try:
        yield
    finally:
        with _lock:
            _stoppers.pop(key, None)


def _call(fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception as exc:  # a child already gone must not break the handler
        print(
            _("dcctl: could not pass the stop on: {problem}").format(problem=repr(exc)),
            file=sys.stderr,
        )


def _handler(signum: int, _frame: FrameType | None) -> None:
    if _received:
        # The second signal: the operator insists. Python's usual interrupt.
        raise KeyboardInterrupt
    _received.append(signum)
    name = signal.Signals(signum).name
    message = _(
        "dcctl: {signal} received: stopping at the next safe point (no new switch, "
        "play or layer starts; the running one finishes). Send it again to force."
    ).format(signal=name)
    print("\n" + message, file=sys.stderr, flush=True)
    with _lock:
        stoppers = list(_stoppers.values())
    for fn in stoppers:
        _call(fn)


@contextlib.contextmanager
def safe_stop() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM ask for a stop instead of killing the run.

    Nested blocks share the outer one's handlers. Outside the main thread (a
    signal handler can only be set there) the block changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outer = _depth[0] == 0
    previous = {}
    if outer:
        reset()
        previous = {s: signal.signal(s, _handler) for s in _SIGNALS}
    _depth[0] += 1
    try:
        yield
    finally:
        _depth[0] -= 1
        if outer:
            for s, h in previous.items():
                signal.signal(s, h)


def interrupt_group(pgid: int) -> None:
    """SIGINT to a child's process group (Ansible's own session), if it is still there."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGINT)
