"""Role variables of the ``monitoring`` and ``wg_exporter`` roles, computed from the spec.

Why everything is computed here and the roles only write files: the spec knows
which OPD owns every VM, camera, switch and office; the roles know Debian's paths
and services. The documents returned are plain data (see
:mod:`dcctl.monitoring.config`), all values re-checked, none secret, so all of it
is ``public`` (safe in plan output).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dcctl.backup.metrics import watches
from dcctl.engines.ansible.vars import RoleVars
from dcctl.i18n import _
from dcctl.monitoring.config import (
    ALERTMANAGER_ADDR,
    BLACKBOX_ADDR,
    PATHS,
    PROMETHEUS_ADDR,
    Settings,
    alertmanager_config,
    assert_no_template_syntax,
    blackbox_config,
    checked_opds,
    prometheus_config,
    rules,
)
from dcctl.monitoring.targets import address, build_targets, label_value
from dcctl.plan.desired import DesiredState
from dcctl.spec.loader import Spec
from dcctl.targets import Target

__all__ = ["role_vars", "settings"]


def _listen(addr: str) -> str:
    """Prometheus and Alertmanager answer the NOC on every address; same port."""
    return "0.0.0.0:" + addr.rsplit(":", 1)[1]


def settings(spec: Spec) -> Settings:
    """The spec's monitoring block plus defaults for what the spec does not (yet) say."""
    mon = spec.site.monitoring
    if mon is None:
        raise ValueError(_("the site has no monitoring block"))
    opds: dict[str, tuple[str, str | None]] = {}
    for code, opd in spec.opds.items():
        # The first contact that has an e-mail address receives the OPD's alerts.
        email = next((c.email for c in opd.contacts if c.email), None)
        opds[code] = (opd.name, email)
    down_after = max(60, 3 * mon.scrape_interval_s)
    return Settings(
        site=spec.site.name,
        scrape_interval_s=mon.scrape_interval_s,
        camera_down_after_s=mon.camera_down_after_s,
        alert_email=mon.alert_email,
        down_after_s=down_after,
        handshake_stale_after_s=max(300, down_after),
        smtp_from=f"alertmanager@{spec.site.domain}",
        opds=checked_opds(opds),
        self_opd=label_value(mon.vm.partition("/")[0], _("monitoring VM OPD")),
        self_name=label_value(mon.vm, _("monitoring VM")),
        vpn_hub=label_value(spec.site.vpn.vm, _("VPN hub VM")) if spec.site.vpn else None,
    )


def role_vars(spec: Spec, state: DesiredState, state_dir: Path, target: Target) -> RoleVars:
    """Variables for ``monitoring`` (on role_monitoring) and ``wg_exporter`` (on role_vpn_hub).

    ``target`` ("lab" or "prod") changes nothing: the lab rehearses the same files.
    """
    del state_dir, target
    if spec.site.monitoring is None:
        return RoleVars()
    s = settings(spec)
    targets = build_targets(spec, state)
    offices: list[dict[str, str]] = []
    for key, peer in sorted(state["vpn"].items()):
        code, _sep, office = key.partition("/")
        offices.append(
            {
                "opd": label_value(code, _("OPD code")),
                "office": label_value(office, _("office name")),
                "tunnel_address": address(
                    str(peer["tunnel_address"]),
                    _("tunnel address of {key}").format(key=key),
                    port=False,
                ),
            }
        )
    public: dict[str, Any] = {
        "monitoring_prometheus_config": prometheus_config(targets, s),
        "monitoring_rules": rules(targets, offices, s, watches(state)),
        "monitoring_blackbox_config": blackbox_config(s),
        "monitoring_alertmanager_config": alertmanager_config(s),
        "monitoring_rules_path": PATHS["rules"],
        "monitoring_prometheus_args": [
            f"--config.file={PATHS['prometheus']}",
            f"--storage.tsdb.retention.time={s.retention}",
            f"--web.listen-address={_listen(PROMETHEUS_ADDR)}",
        ],
        "monitoring_alertmanager_args": [
            f"--config.file={PATHS['alertmanager']}",
            f"--storage.path={PATHS['alertmanager_storage']}",
            f"--web.listen-address={_listen(ALERTMANAGER_ADDR)}",
            "--cluster.listen-address=",  # one Alertmanager: no gossip port
        ],
        "monitoring_blackbox_args": [
            f"--config.file={PATHS['blackbox']}",
            f"--web.listen-address={BLACKBOX_ADDR}",
        ],
        "wg_exporter_offices": offices,
        "wg_exporter_interval_s": s.scrape_interval_s,
    }
    assert_no_template_syntax(public)
    return RoleVars(public=public)
