"""Lab faults injected on purpose: a switch that drops or rejects commands, a camera
stopped or paused, an office's WAN link down.

Why marker files: a fault is recorded in the state dir, so `lab up` does not
silently heal what someone broke on purpose and `lab status` shows it as a fault,
not as a broken device; `lab down` clears the markers. A switch's faults are its
daemon's own faults.json, which the daemon reads on every command.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from collections.abc import Callable
from typing import Any, TypeVar

from dcctl.i18n import _
from dcctl.lab import net
from dcctl.lab.base import LabError, camera_pid, set_fault, write_if_changed
from dcctl.lab.net import NetError
from dcctl.lab.plan import LabPlan
from dcctl.lab.preflight import require_root
from dcctl.lab.processes import start_camera
from dcctl.lab.secrets import secret_path

T = TypeVar("T")


def switch_fault(
    plan: LabPlan,
    name: str,
    *,
    drop_after: int | None = None,
    reject: list[str] | None = None,
    delay: float | None = None,
    clear: bool = False,
) -> dict[str, Any]:
    """Write the switch's faults.json (merged with what is there unless `clear`)."""
    try:
        plan.switch(name)
    except KeyError:
        known = ", ".join(s.name for s in plan.switches)
        raise LabError(
            _("no switch {name}").format(name=repr(name)), _("known: {known}").format(known=known)
        ) from None
    path = plan.switch_dir(name) / "faults.json"
    current: dict[str, Any] = {}
    if not clear:
        with contextlib.suppress(FileNotFoundError, ValueError):
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                current = loaded
    if drop_after is not None:
        current["drop_after"] = drop_after
    if reject:
        for rx in reject:
            try:
                re.compile(rx)
            except re.error as exc:
                raise LabError(
                    _("--reject {regex} is not a regular expression: {problem}").format(
                        regex=repr(rx), problem=exc
                    )
                ) from None
        current["reject"] = list(reject)
    if delay is not None:
        current["delay"] = delay
    if current:
        write_if_changed(path, json.dumps(current, indent=2) + "\n")
    else:
        path.unlink(missing_ok=True)
    return current


def _lookup(find: Callable[[str], T], ref: str) -> T:
    """A camera or office by NAME or OPD/NAME; the plan's KeyError says which exist."""
    try:
        return find(ref)
    except KeyError as exc:
        raise LabError(str(exc.args[0])) from None


def camera_fault(plan: LabPlan, ref: str, action: str) -> str:
    """stop | start | pause | resume one camera; returns what happened."""
    require_root()
    cam = _lookup(plan.camera, ref)
    pid = camera_pid(plan, cam)
    if action == "stop":
        if pid:
            net.stop_pids([pid])
        plan.camera_pid_path(cam).unlink(missing_ok=True)
        set_fault(plan.state_dir, "camera", cam.key, "stopped")
        return _("camera {camera} stopped").format(camera=cam.key)
    if action == "pause":
        if not pid:
            raise LabError(_("camera {camera} is not running").format(camera=cam.key))
        os.kill(pid, signal.SIGSTOP)
        set_fault(plan.state_dir, "camera", cam.key, "paused")
        return _("camera {camera} paused (accepts TCP, answers nothing)").format(camera=cam.key)
    if action == "resume":
        if pid:
            os.kill(pid, signal.SIGCONT)
        set_fault(plan.state_dir, "camera", cam.key, None)
        return _("camera {camera} resumed").format(camera=cam.key)
    if action == "start":
        set_fault(plan.state_dir, "camera", cam.key, None)
        if pid:
            os.kill(pid, signal.SIGCONT)
            return _("camera {camera} already running").format(camera=cam.key)
        if cam.netns not in net.netns_list():
            raise LabError(
                _("namespace {netns} is missing").format(netns=cam.netns),
                _("run `dcctl lab up` first"),
            )
        pw = secret_path(plan.state_dir, cam.credential)
        start_camera(plan, cam, pw)
        for _attempt in range(100):
            if net.rtsp_options(cam.netns, cam.ip, cam.rtsp_port, cam.rtsp_path, 1.0):
                break
            time.sleep(0.1)
        return _("camera {camera} started").format(camera=cam.key)
    raise LabError(
        _("unknown camera action {action}").format(action=repr(action)),
        _("stop, start, pause or resume"),
    )


def wan_fault(plan: LabPlan, ref: str, action: str) -> str:
    """down | up: the office's WAN link (its port on the WAN bridge)."""
    require_root()
    office = _lookup(plan.office, ref)
    if action not in ("down", "up"):
        raise LabError(
            _("unknown WAN action {action}").format(action=repr(action)), _("down or up")
        )
    assert plan.wan is not None
    set_fault(plan.state_dir, "wan", office.key, "down" if action == "down" else None)
    try:
        net.ip(plan.wan.netns, "link", "set", office.wan_bridge_port, action)
    except NetError as exc:
        raise LabError(
            _("cannot set WAN link of {office} {action}: {problem}").format(
                office=office.key, action=action, problem=exc
            ),
            _("run `dcctl lab up`"),
        ) from None
    return (
        _("WAN link of {office} down") if action == "down" else _("WAN link of {office} up")
    ).format(office=office.key)
