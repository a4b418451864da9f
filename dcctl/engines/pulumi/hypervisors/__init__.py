"""Production hypervisor drivers: one module per ``hypervisors.type``, found by the registry.

Each module exposes ``build(state, site) -> {vm key: facts}`` (the
:class:`dcctl.engines.pulumi.program.Hypervisor` contract). Adding a hypervisor
is one module here; the spec accepts its name and the targets can choose it.
The lab's own hypervisor (``lab``, VMs as podman containers) is part of the lab:
the package ``dcctl.lab.hypervisor``, which :mod:`dcctl.plugins` finds too.
"""
