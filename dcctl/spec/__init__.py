"""The regency spec: one validated, source-located description of the data center.

Everything downstream (IPAM, plan, engines, lab) reads the `Spec` returned by
`load_spec`; nothing downstream re-reads YAML.
"""

from dcctl.spec.errors import SpecError, SpecErrors
from dcctl.spec.loader import Spec, load_spec

__all__ = ["Spec", "SpecError", "SpecErrors", "load_spec"]
