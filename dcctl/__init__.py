"""dcctl: declarative infrastructure for a regency data center (SPBE shared DC)."""

__version__ = "0.1.0"
