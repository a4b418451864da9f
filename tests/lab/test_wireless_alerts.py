"""promtool runs the radio and access-point alerts (issue 20) on synthetic series.

The rules are the ones dcctl generates for the wireless spec of ``tests.specs``; a
``promtool test rules`` file feeds ``probe_success`` series and states which alert
fires, when, with which labels: an AP's alert carries its OPD, a radio that serves
one OPD that OPD, and an AP that answers raises nothing. promtool is in the lab
image (not on the test machine), so this runs there, without a network.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dcctl.lab.podman import podman
from dcctl.monitoring.config import Settings, rules
from dcctl.monitoring.targets import build_targets
from dcctl.spec import load_spec
from tests.lab.conftest import lab_image, needs
from tests.specs import OpdSpec, build_spec

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]


def test_promtool_fires_radio_and_ap_alerts_with_their_opd(tmp_path: Path) -> None:
    reason = needs("podman", "runc")
    if reason:
        pytest.skip(reason)
    spec = load_spec(
        build_spec(
            tmp_path,
            switches=["cisco_ios", "cisco_ios"],
            opds=[
                OpdSpec("dinkes", lan_ports=1, switch=1),
                OpdSpec("dishub", lan_ports=1, switch=1),
            ],
            wireless=True,
        )
    )
    settings = Settings(site=spec.site.name, down_after_s=120)
    check = tmp_path / "check"
    check.mkdir()
    doc = rules(build_targets(spec), [], settings)
    (check / "rules.yml").write_text(yaml.safe_dump(doc))
    notes = {r["labels"].get("name"): r["annotations"] for g in doc["groups"] for r in g["rules"]}
    assert notes["radio-far"]["summary"] == "Radio radio-far of OPD dinkes is down"
    probe = 'probe_success{{job="{job}",name="{name}",opd="{opd}",kind="{job}"}}'
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": "15s",
                "input_series": [
                    {
                        "series": probe.format(job="radio", name="radio-far", opd="dinkes"),
                        "values": "0x20",
                    },
                    {
                        "series": probe.format(job="ap", name="ap-dishub", opd="dishub"),
                        "values": "0x20",
                    },
                    {
                        "series": probe.format(job="ap", name="ap-dinkes", opd="dinkes"),
                        "values": "1x20",
                    },
                ],
                "alert_rule_test": [
                    # Not yet: the `for` of 120 s has not passed at 1 minute.
                    {"eval_time": "1m", "alertname": "RadioUnreachable", "exp_alerts": []},
                    {
                        "eval_time": "3m",
                        "alertname": "RadioUnreachable",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "critical",
                                    "job": "radio",
                                    "opd": "dinkes",
                                    "kind": "radio",
                                    "name": "radio-far",
                                },
                                "exp_annotations": notes["radio-far"],
                            }
                        ],
                    },
                    {
                        "eval_time": "3m",
                        "alertname": "AccessPointUnreachable",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warning",
                                    "job": "ap",
                                    "opd": "dishub",
                                    "kind": "ap",
                                    "name": "ap-dishub",
                                },
                                "exp_annotations": notes["ap-dishub"],
                            }
                        ],
                    },
                ],
            }
        ],
    }
    (check / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    out = podman("run", "--rm", "--network", "none",
                 "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                 "-v", f"{check}:/check:ro", "-w", "/check", lab_image(),
                 "promtool", "test", "rules", "tests.yml",
                 check=False, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout
