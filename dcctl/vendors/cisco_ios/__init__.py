"""Cisco IOS / IOS-XE access and distribution switches (netmiko ``cisco_ios``)."""
