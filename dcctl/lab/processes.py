"""`lab up`'s processes: the switch daemons and cameras, their state files (secrets,
host keys, daemon configs), and the wait until they answer.

Why these rules: a daemon is restarted only when what it serves changed (its
bridge or a port was re-created, or its config was rewritten), and a process whose
namespace was deleted and re-created is replaced, because it would keep running in
the old one. A camera someone stopped or paused on purpose (a fault marker) is left
alone. Pid files carry a marker the process's command line must contain, so a
recycled pid is never taken for ours.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from dcctl.i18n import _
from dcctl.lab import net
from dcctl.lab.base import (
    DAEMON_PID,
    LabError,
    UpRun,
    camera_pid,
    fault,
    parallel,
    switch_pid,
    write_if_changed,
)
from dcctl.lab.plan import CAMERA_USER, CameraPlan, LabPlan, switchd_config
from dcctl.lab.preflight import GST_PACKAGES, SYSTEM_PYTHON, apt_hint, gst_problem
from dcctl.lab.secrets import ensure_secrets
from dcctl.paths import repo_root
from dcctl.ssh.knownhosts import KnownHosts
from dcctl.targets import KNOWN_HOSTS

CAMERA_SCRIPT = Path(__file__).with_name("camera.py")


def _host_key(path: Path, comment: str) -> bool:
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    net.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    return True


def state_files(run: UpRun) -> dict[str, Path]:
    """The state dir, secrets, switch host keys and daemon configs; the secrets' paths."""
    plan = run.plan
    plan.state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(plan.state_dir, 0o750)
    pw = ensure_secrets(plan.state_dir, plan.credential_refs)
    for sw in plan.switches:
        d = plan.switch_dir(sw.name)
        d.mkdir(parents=True, exist_ok=True)
        if _host_key(d / "ssh_host_ed25519_key", f"{sw.name}@lab-{plan.lab_id}"):
            run.change(_("switch host keys generated"))
        # dcctl made this key, so it pins it (read from the file, not the network).
        pub = (d / "ssh_host_ed25519_key.pub").read_text(encoding="utf-8")
        pinned = KnownHosts(plan.state_dir / KNOWN_HOSTS)
        if pinned.record(sw.name, sw.mgmt_address, 22, pub, replace=True) != "same":
            run.change(_("switch host keys pinned"))
        enable = pw[sw.enable_credential] if sw.enable_credential else None
        cfg = switchd_config(plan, sw, pw[sw.credential], enable)
        text = json.dumps(cfg, indent=2) + "\n"
        if write_if_changed(plan.switchd_config_path(sw.name), text, 0o600):
            run.changed_configs.add(sw.name)
            run.change(_("switch daemon configs written"))
    (plan.state_dir / "cameras").mkdir(exist_ok=True)
    return pw


def switch_daemons(run: UpRun) -> None:
    """Start missing switch daemons; restart those whose ports or config changed."""
    plan = run.plan
    if not run.res.switchd:
        run.warn(_("switch daemon (dcctl.lab.switchd) not installed yet: switches not started"))
        return
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(repo_root()), *filter(None, [env.get("PYTHONPATH")])])
    for sw in plan.switches:
        pid = switch_pid(plan, sw)
        if pid is not None and not net.pid_in_netns(pid, sw.netns):
            net.stop_pids([pid])  # the management namespace was re-created
            pid = None
        rebuilt = sw.bridge in run.new_bridges or any(
            port in run.new_ports for _spec_port, port in sw.ports
        )
        if pid is not None and (rebuilt or sw.name in run.changed_configs):
            net.stop_pids([pid])
            pid = None
            run.change(_("switch daemons restarted (ports or config changed)"))
        if pid is not None:
            continue
        d = plan.switch_dir(sw.name)
        argv = [
            "ip", "netns", "exec", sw.netns,
            sys.executable, "-m", "dcctl.lab.switchd",
            "--config", str(plan.switchd_config_path(sw.name)),
        ]  # fmt: skip
        pid = net.spawn(argv, d / "console.log", env=env)
        (d / DAEMON_PID).write_text(f"{pid}\n")
        run.started.append(("switch", sw.name))
        run.change(_("switch daemons started"))


def cameras(run: UpRun, pw: dict[str, Path]) -> None:
    """Start missing cameras (not the ones faulted on purpose); GStreamer is checked only
    when one must start, so a lab without cameras needs no GStreamer."""
    plan = run.plan
    todo = []
    for cam in plan.cameras:
        if fault(plan.state_dir, "camera", cam.key) is not None:
            continue  # stopped/paused on purpose
        pid = camera_pid(plan, cam)
        if pid is not None and not net.pid_in_netns(pid, cam.netns):
            net.stop_pids([pid])  # its namespace was deleted and re-created
            pid = None
        if pid is None:
            todo.append(cam)
    if not todo:
        return
    problem = gst_problem()
    if problem:
        raise LabError(
            _("cameras need GStreamer's RTSP server for {python}: {problem}").format(
                python=SYSTEM_PYTHON, problem=problem
            ),
            apt_hint(GST_PACKAGES),
        )
    for cam in todo:
        start_camera(plan, cam, pw[cam.credential])
        run.started.append(("camera", cam.key))
        run.change(_("cameras started"))


def start_camera(plan: LabPlan, cam: CameraPlan, password_file: Path) -> int:
    """Run the RTSP camera in its namespace with the system python (it has GStreamer)."""
    pid_file = plan.camera_pid_path(cam)
    argv = [
        "ip", "netns", "exec", cam.netns,
        SYSTEM_PYTHON, str(CAMERA_SCRIPT),
        "--port", str(cam.rtsp_port), "--path", cam.rtsp_path,
        "--user", CAMERA_USER, "--password-file", str(password_file),
        "--pid-file", str(pid_file),
    ]  # fmt: skip
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    pid = net.spawn(argv, plan.camera_log_path(cam), env=env)
    pid_file.write_text(f"{pid}\n")
    return pid


def wait_ready(run: UpRun, timeout: float) -> None:
    """Wait for what this run started to answer (SSH, RTSP); warn about the silent ones."""
    plan = run.plan
    pending = list(run.started)
    deadline = time.monotonic() + timeout

    def ready(item: tuple[str, str]) -> bool:
        kind, name = item
        if kind == "switch":
            sw = plan.switch(name)
            return (net.tcp_probe(sw.netns, sw.mgmt_address, 22, timeout=1.0) or "").startswith(
                "SSH-"
            )
        cam = plan.camera(name)
        return net.rtsp_options(cam.netns, cam.ip, cam.rtsp_port, cam.rtsp_path, 1.0).startswith(
            "RTSP/1.0"
        )

    while pending and time.monotonic() < deadline:
        answers = parallel(ready, pending)
        pending = [i for i, ok in zip(pending, answers, strict=True) if not ok]
        if pending:
            time.sleep(0.2)
    for kind, name in pending:
        said = (
            _("switch {name} started but does not answer after {seconds}s")
            if kind == "switch"
            else _("camera {name} started but does not answer after {seconds}s")
        )
        run.warn(said.format(name=name, seconds=f"{timeout:.0f}"))
