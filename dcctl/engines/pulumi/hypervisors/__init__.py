"""Hypervisor drivers: one module per ``hypervisors.type``, found by :mod:`dcctl.plugins`.

Each module exposes ``build(state, site) -> {vm key: facts}`` (the
:class:`dcctl.engines.pulumi.program.Hypervisor` contract). Adding a hypervisor
is one module here; the spec accepts its name and the targets can choose it.
"""
