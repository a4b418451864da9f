"""MikroTik RouterOS v7 switches and routers (netmiko ``mikrotik_routeros``)."""
