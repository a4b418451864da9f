"""The four monitoring documents as plain data: Prometheus, rules, blackbox, Alertmanager.

Why plain data rather than Jinja templates: Ansible dumps each with
``to_nice_yaml``, so quoting is the YAML dumper's job and no spec value is ever
pasted into YAML text. The documents are also what unit tests inspect and what
``promtool``/``amtool`` validate on the host before a file is replaced.

Why one alert rule per target (rather than one generic rule with Go templates in
its annotations): each rule carries static ``opd``/``kind``/``name`` labels, so
routing never depends on a series label being present, and annotations can name
the OPD and the target in plain words. Plain words matter twice over: Ansible
2.19 renders ``{{ ... }}`` found in variables, and Prometheus renders it again in
annotations, so generated text must contain no template syntax at all (checked
by :func:`assert_no_template_syntax`). A few dozen rules cost Prometheus nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dcctl.backup.metrics import DRILL_LAST_SUCCESS, LAST_SUCCESS, Watch
from dcctl.i18n import _
from dcctl.monitoring.targets import Target, UnsafeValue, label_value, text

__all__ = [
    "ALERTMANAGER_ADDR",
    "BLACKBOX_ADDR",
    "PATHS",
    "PROMETHEUS_ADDR",
    "Settings",
    "alertmanager_config",
    "assert_no_template_syntax",
    "blackbox_config",
    "checked_opds",
    "prometheus_config",
    "promql_str",
    "rules",
]

PROMETHEUS_ADDR = "127.0.0.1:9090"
ALERTMANAGER_ADDR = "127.0.0.1:9093"
# Loopback only: a blackbox exporter probes whatever it is asked to, so it must not
# be reachable from the OPD networks.
BLACKBOX_ADDR = "127.0.0.1:9115"

#: Debian's paths (the packages' units read /etc/default/<unit> for their ARGS).
PATHS = {
    "prometheus": "/etc/prometheus/prometheus.yml",
    "rules": "/etc/prometheus/dcctl.rules.yml",
    "blackbox": "/etc/prometheus/blackbox.yml",
    "alertmanager": "/etc/prometheus/alertmanager.yml",
    "alertmanager_storage": "/var/lib/prometheus/alertmanager",
}

_KIND_ALERT = {
    "node": ("InstanceDown", "critical"),
    "camera": ("CameraDown", "warning"),
    "switch": ("SwitchUnreachable", "critical"),
    "radio": ("RadioUnreachable", "critical"),
    "ap": ("AccessPointUnreachable", "warning"),
    "vpn": ("VpnTunnelDown", "warning"),
}
_KIND_WORD = {
    "node": "Node exporter of",
    "camera": "Camera",
    "switch": "Switch",
    "radio": "Radio",
    "ap": "Access point",
    "vpn": "Office",
}
_KIND_WHAT = {
    "node": "no scrape of node exporter at {addr}",
    "camera": "no TCP connection to the RTSP port {addr}",
    "switch": "no TCP connection to SSH on the management address {addr}",
    "radio": "no TCP connection to SSH on the management address {addr}",
    "ap": "no TCP connection to SSH on the management address {addr}",
    "vpn": "no ICMP echo from the tunnel address {addr}",
}


@dataclass(frozen=True)
class Settings:
    """Intervals, thresholds and mail settings (from the spec's ``monitoring`` or defaults)."""

    site: str
    scrape_interval_s: int = 30
    camera_down_after_s: int = 120
    alert_email: str | None = None
    #: How long a node/switch/tunnel must fail before its alert fires.
    down_after_s: int = 120
    #: WireGuard renews a handshake every 2 minutes while traffic (or keepalive) flows.
    handshake_stale_after_s: int = 300
    smtp_smarthost: str = "localhost:25"
    smtp_from: str = "alertmanager@localhost"
    smtp_require_tls: bool = False
    retention: str = "30d"
    #: OPD code -> (full name, first contact e-mail or None).
    opds: Mapping[str, tuple[str, str | None]] | None = None
    #: OPD code and desired key of the monitoring VM (labels of the self-scrapes).
    self_opd: str = "kominfo"
    self_name: str = "kominfo/monitor"
    #: Desired key of the VPN hub VM ("kominfo/vpn-gw"), whose textfile has the handshakes.
    vpn_hub: str | None = None

    @property
    def scrape_timeout_s(self) -> int:
        return min(10, self.scrape_interval_s)


def promql_str(value: str) -> str:
    """A PromQL / Alertmanager matcher string literal (double-quoted, escaped)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _selector(metric: str, labels: Mapping[str, str]) -> str:
    inner = ",".join(f"{k}={promql_str(v)}" for k, v in labels.items())
    return f"{metric}{{{inner}}}"


def _opd_words(s: Settings, code: str) -> str:
    name = (s.opds or {}).get(code, (code, None))[0]
    return f"{name} ({code})" if name != code else code


def _owner_words(s: Settings, label: str) -> str:
    """Whom an alert concerns: an OPD, or the site itself (a backbone radio, issue 20)."""
    if label == s.site and label not in (s.opds or {}):
        return f"the site {label} (backbone)"
    return f"OPD {_opd_words(s, label)}"


def _static(target: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {"targets": [target], "labels": dict(labels)}


def prometheus_config(targets: Iterable[Target], s: Settings) -> dict[str, Any]:
    """``prometheus.yml``: direct scrapes, one blackbox job per probe kind, Alertmanager."""
    targets = list(targets)
    self_labels = {"opd": s.self_opd, "name": s.self_name}
    jobs: list[dict[str, Any]] = [
        {
            "job_name": job,
            "static_configs": [_static(addr, {**self_labels, "kind": job})],
        }
        for job, addr in (
            ("prometheus", PROMETHEUS_ADDR),
            ("alertmanager", ALERTMANAGER_ADDR),
            ("blackbox", BLACKBOX_ADDR),
        )
    ]
    by_job: dict[str, list[Target]] = {}
    for t in targets:
        by_job.setdefault(t.job, []).append(t)
    for job, members in by_job.items():
        config: dict[str, Any] = {
            "job_name": job,
            "static_configs": [_static(t.address, t.labels) for t in members],
        }
        if job == "node":
            # Handshake series come only through the hub's own job below, so a VM
            # whose admin writes a textfile cannot mask another OPD's tunnel alert.
            config["metric_relabel_configs"] = [
                {"source_labels": ["__name__"], "regex": "wireguard_.*", "action": "drop"}
            ]
        module = members[0].module
        if any(t.module != module for t in members):
            raise UnsafeValue(_("monitoring: job {job} mixes probe modules").format(job=job))
        if module is not None:
            # The blackbox pattern: the target becomes a URL parameter and the
            # instance label, the scrape itself goes to the local exporter.
            config |= {
                "metrics_path": "/probe",
                "params": {"module": [module]},
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__param_target"], "target_label": "instance"},
                    {"target_label": "__address__", "replacement": BLACKBOX_ADDR},
                ],
            }
        jobs.append(config)
    hub = next((t for t in targets if t.kind == "node" and t.name == s.vpn_hub), None)
    if hub is not None:
        # The hub's textfile labels each series with the office's OPD; honor_labels
        # keeps that `opd` instead of the hub's own, and only wireguard_* is kept.
        jobs.append(
            {
                "job_name": "vpn-handshakes",
                "honor_labels": True,
                "params": {"collect[]": ["textfile"]},
                "static_configs": [_static(hub.address, {**hub.labels, "kind": "vpn-hub"})],
                "metric_relabel_configs": [
                    {"source_labels": ["__name__"], "regex": "wireguard_.*", "action": "keep"}
                ],
            }
        )
    return {
        "global": {
            "scrape_interval": f"{s.scrape_interval_s}s",
            "scrape_timeout": f"{s.scrape_timeout_s}s",
            "evaluation_interval": f"{s.scrape_interval_s}s",
            "external_labels": {"site": label_value(s.site, _("site name"))},
        },
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [ALERTMANAGER_ADDR]}]}]},
        "rule_files": [PATHS["rules"]],
        "scrape_configs": jobs,
    }


def _target_rule(t: Target, s: Settings) -> dict[str, Any]:
    alert, severity = _KIND_ALERT[t.kind]
    metric = "up" if t.module is None else "probe_success"
    after = s.camera_down_after_s if t.kind == "camera" else s.down_after_s
    what = _KIND_WHAT[t.kind].format(addr=t.address)
    where = f" ({t.detail})" if t.detail else ""
    return {
        "alert": alert,
        "expr": f"{_selector(metric, {'job': t.job, 'name': t.name})} == 0",
        "for": f"{after}s",
        "labels": {"severity": severity, **t.labels},
        "annotations": {
            "summary": f"{_KIND_WORD[t.kind]} {t.name} of {_owner_words(s, t.opd)} is down",
            "description": f"{what}{where} for {after} s.",
        },
    }


def _handshake_rule(office: Mapping[str, str], s: Settings) -> dict[str, Any]:
    labels = {"opd": office["opd"], "office": office["office"]}
    series = _selector("wireguard_latest_handshake_seconds", labels)
    minutes = s.handshake_stale_after_s // 60
    name = f"{office['opd']}/{office['office']}"
    return {
        "alert": "VpnHandshakeStale",
        # absent(): the hub stopped exporting this office at all (peer removed,
        # exporter broken) is as bad as an old handshake.
        "expr": f"(time() - {series}) > {s.handshake_stale_after_s} or absent({series})",
        "for": f"{s.scrape_interval_s * 2}s",
        "labels": {"severity": "warning", "opd": office["opd"], "kind": "vpn", "name": name},
        "annotations": {
            "summary": f"WireGuard tunnel of office {name} of OPD "
            f"{_opd_words(s, office['opd'])} has no recent handshake",
            "description": f"The hub saw no handshake from {name} for more than "
            f"{minutes} minutes ({s.handshake_stale_after_s} s).",
        },
    }


def _span(seconds: int) -> str:
    """A threshold in words: 2 hours, 2 days, 30 days."""
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{seconds} s"


def _backup_rules(w: Watch, s: Settings) -> list[dict[str, Any]]:
    """``BackupStale`` per repository of the VM, ``RestoreDrillOverdue`` per VM (issue 18).

    The series are selected by the scrape's own target labels ``opd`` and ``name`` (the
    VM's key), which the VM's node exporter job sets and no textfile can override: a VM
    speaks only for itself (see :mod:`dcctl.backup.metrics`). A missing series is as
    bad as an old one (``absent``): the backup never ran, or its exporter broke.
    rahasia data is critical, the rest a warning.
    """
    opd = label_value(w.opd, _("OPD code"))
    vm = label_value(w.vm, _("VM key"))
    who = _opd_words(s, opd)
    severity = "critical" if w.classification == "rahasia" else "warning"
    out = []
    for repo in w.repositories:
        series = _selector(
            LAST_SUCCESS, {"opd": opd, "name": vm, "repo": label_value(repo, "repo")}
        )
        where = "the off-site repository" if repo == "offsite" else "the backup repository"
        out.append(
            {
                "alert": "BackupStale",
                "expr": f"(time() - {series}) > {w.stale_after_s} or absent({series})",
                "for": f"{s.scrape_interval_s * 2}s",
                "labels": {
                    "severity": severity,
                    "opd": opd,
                    "kind": "backup",
                    "name": vm,
                    "repo": repo,
                },
                "annotations": {
                    "summary": f"Backup of VM {vm} of OPD {who} in {where} is stale",
                    "description": f"No successful {w.schedule} backup of {vm} into {where} "
                    f"({repo}) for more than {_span(w.stale_after_s)} "
                    f"({w.stale_after_s} s), or none recorded at all.",
                },
            }
        )
    drill = _selector(DRILL_LAST_SUCCESS, {"opd": opd, "name": vm})
    out.append(
        {
            "alert": "RestoreDrillOverdue",
            "expr": f"(time() - {drill}) > {w.drill_every_s} or absent({drill})",
            "for": f"{s.scrape_interval_s * 2}s",
            "labels": {"severity": "warning", "opd": opd, "kind": "backup", "name": vm},
            "annotations": {
                "summary": f"Restore drill of VM {vm} of OPD {who} is overdue",
                "description": f"No successful restore drill of {vm} for more than "
                f"{_span(w.drill_every_s)} ({w.drill_every_s} s); run dcctl backup drill.",
            },
        }
    )
    return out


def _self_rules(s: Settings) -> list[dict[str, Any]]:
    out = []
    for job, alert in (("alertmanager", "AlertmanagerDown"), ("blackbox", "BlackboxExporterDown")):
        out.append(
            {
                "alert": alert,
                "expr": f"{_selector('up', {'job': job})} == 0",
                "for": f"{s.down_after_s}s",
                "labels": {"severity": "critical", "opd": s.self_opd, "kind": job},
                "annotations": {
                    "summary": f"{job} on the monitoring VM {s.self_name} is down",
                    "description": f"Prometheus cannot scrape {job}; probes or "
                    "notifications are not working.",
                },
            }
        )
    return out


def rules(
    targets: Iterable[Target],
    offices: Iterable[Mapping[str, str]],
    s: Settings,
    backups: Iterable[Watch] = (),
) -> dict[str, Any]:
    """The rules file: a group per kind, every alert labelled with its OPD."""
    targets = list(targets)
    groups: list[dict[str, Any]] = []
    for kind in _KIND_ALERT:
        members = [_target_rule(t, s) for t in targets if t.kind == kind]
        if kind == "vpn":
            members += [_handshake_rule(o, s) for o in offices]
        if members:
            groups.append({"name": f"dcctl-{kind}", "rules": members})
    backup_rules = [r for w in backups for r in _backup_rules(w, s)]
    if backup_rules:
        groups.append({"name": "dcctl-backup", "rules": backup_rules})
    groups.append({"name": "dcctl-monitoring", "rules": _self_rules(s)})
    return {"groups": groups}


def blackbox_config(s: Settings) -> dict[str, Any]:
    """Only the two modules the probes use; IPv4, timeouts below the scrape timeout."""
    timeout = f"{max(1, min(5, s.scrape_timeout_s - 1))}s"
    return {
        "modules": {
            "tcp_connect": {
                "prober": "tcp",
                "timeout": timeout,
                "tcp": {"preferred_ip_protocol": "ip4"},
            },
            "icmp": {
                "prober": "icmp",
                "timeout": timeout,
                "icmp": {"preferred_ip_protocol": "ip4"},
            },
        }
    }


def alertmanager_config(s: Settings) -> dict[str, Any]:
    """One receiver per OPD (its first contact) plus the NOC, which sees everything.

    Why ``continue: true`` on the OPD routes and a catch-all route to the NOC last:
    the OPD hears about its own camera, and the infra team hears about every
    alert before an OPD calls.
    """
    noc: dict[str, Any] = {"name": "noc"}
    if s.alert_email:
        noc["email_configs"] = [{"to": s.alert_email, "send_resolved": True}]
    receivers = [noc]
    routes: list[dict[str, Any]] = []
    for code, (_name, email) in sorted((s.opds or {}).items()):
        if not email:
            continue  # no contact with an e-mail: the NOC gets it
        name = "opd-" + label_value(code, _("OPD code"))
        receivers.append({"name": name, "email_configs": [{"to": email, "send_resolved": True}]})
        routes.append({"receiver": name, "matchers": [f"opd={promql_str(code)}"], "continue": True})
    routes.append({"receiver": "noc"})
    return {
        "global": {
            "resolve_timeout": "5m",
            "smtp_smarthost": s.smtp_smarthost,
            "smtp_from": s.smtp_from,
            "smtp_require_tls": s.smtp_require_tls,
        },
        "route": {
            "receiver": "noc",
            "group_by": ["opd", "alertname"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "receivers": receivers,
    }


def assert_no_template_syntax(doc: Any, where: str = "monitoring") -> None:
    """Raise if any string could be read as a Jinja or Go template (``{{``, ``{%``, ``{#``).

    PromQL selectors contain single braces, which neither engine treats as syntax.
    """
    if isinstance(doc, str):
        if any(mark in doc for mark in ("{{", "}}", "{%", "%}", "{#", "#}")):
            raise UnsafeValue(_("{where}: template syntax in {doc!r}").format(where=where, doc=doc))
    elif isinstance(doc, Mapping):
        for key, value in doc.items():
            assert_no_template_syntax(key, where)
            assert_no_template_syntax(value, f"{where}.{key}")
    elif isinstance(doc, list | tuple):
        for i, value in enumerate(doc):
            assert_no_template_syntax(value, f"{where}[{i}]")


def _email(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", value):
        raise UnsafeValue(
            _("monitoring: {what} {value!r} is not an e-mail address").format(
                what=what, value=value
            )
        )
    return value


def checked_opds(
    opds: Mapping[str, tuple[str, str | None]],
) -> dict[str, tuple[str, str | None]]:
    """OPD code -> (full name, e-mail) with every value re-checked."""
    return {
        label_value(code, _("OPD code")): (
            text(name, _("name of OPD {code}").format(code=code)),
            _email(email, _("contact of OPD {code}").format(code=code)),
        )
        for code, (name, email) in opds.items()
    }
