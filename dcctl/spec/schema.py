"""JSON Schema of spec documents, so editors validate specs as engineers type."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from dcctl.spec.site import Site
from dcctl.spec.tenancy import Opd


def spec_json_schema() -> dict[str, Any]:
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[Site | Opd, Field(discriminator="kind")])
    schema = adapter.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dcctl spec document"
    return schema
