"""Switch vendors: one folder each, found by :mod:`dcctl.plugins`.

A vendor folder holds everything dcctl knows about that vendor's devices:
``driver.py`` (``DRIVER``: read, diff, push, verify and save for the switch
engine), ``templates/switch.j2`` (the intended configuration) and ``lab.py``
(the lab emulator's dialect: how such a switch answers over SSH). The contract
test (tests/unit/test_vendor_contract.py) runs over every folder here.
"""
