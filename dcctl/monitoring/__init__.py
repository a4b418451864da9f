"""Monitoring domain: what Prometheus scrapes and probes, which alerts exist, who is told.

Why a package of its own: the spec says which VMs, cameras, switches and offices
exist and which OPD owns each; turning that into Prometheus targets, per-OPD
alert rules and Alertmanager routes is logic that deserves unit tests of its
own, away from the Ansible role that merely writes the files
(``playbooks/roles/monitoring``, ``playbooks/roles/wg_exporter``).

- :mod:`dcctl.monitoring.targets`: every monitored thing with its OPD, kind and name.
- :mod:`dcctl.monitoring.config`: the Prometheus, rules, blackbox and Alertmanager
  documents as plain data (dumped to YAML by Ansible's ``to_nice_yaml``).
- :mod:`dcctl.monitoring.ansible`: ``role_vars`` for the engine's provider registry.
"""
