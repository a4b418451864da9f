"""Huawei VRP (S-series access and distribution switches: S5700, S5735, S6730)."""
