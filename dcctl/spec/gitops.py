"""How the spec repo is run as a project: who reviews, and the request service levels.

The regency's service rules give every request or complaint an answer within 1x60
minutes and a resolution within 1x24 hours; a Site may set its own targets. Reviewers
are code-host handles (GitLab or GitHub user or group), so `dcctl codeowners` can make
the infra team and the owning OPD both review a change to that OPD's file.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dcctl.spec.types import Strict

#: A GitLab/GitHub user or group (`@ani.lestari`, `@diskominfo/infra`).
Handle = Annotated[
    str,
    Field(
        pattern=r"^@[A-Za-z0-9][A-Za-z0-9_.-]{0,62}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,62}){0,4}$",
        description="Code-host user or group, e.g. @diskominfo/infra",
    ),
]


class Review(Strict):
    """The infra team that reviews every change (site and every OPD file)."""

    infra: list[Handle] = Field(min_length=1, max_length=20)


class ServiceLevels(Strict):
    """Targets for requests (tickets): first answer and resolution."""

    answer_minutes: int = Field(60, ge=1, le=10080, description="Answer within (minutes)")
    resolve_hours: int = Field(24, ge=1, le=8760, description="Resolve within (hours)")
