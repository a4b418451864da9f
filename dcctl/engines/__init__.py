"""Engines that apply dcctl plans (Pulumi, Ansible, switch drivers)."""
