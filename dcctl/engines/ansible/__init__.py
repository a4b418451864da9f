"""Ansible engine: configures inside the VMs Pulumi created (hosts, VPN, CCTV, monitoring)."""
