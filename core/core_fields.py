"""The core's own contributions, registered through the same hooks as any panel."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from .hookspecs import hookimpl
from .models import PROFILES
from .permissions import Requires
from .timeseries import epoch_to_local


@strawberry.type(description="Who is asking, and how fresh the organization's data is.")
class Me:
    user: str
    organization: str
    organization_name: str
    profile: str
    timezone: str
    refreshed_at: datetime | None = strawberry.field(
        description="When the derived facts (durations, first responses, states) were last "
        "brought up to date."
    )
    capabilities: list[str]


@strawberry.type
class CoreQuery:
    @strawberry.field(permission_classes=[Requires("core.me")])
    async def me(self, info: Info) -> Me:
        viewer = await info.context.viewer()
        capabilities = info.context.registry.capabilities
        return Me(
            user=viewer.principal.user,
            organization=viewer.org.key,
            organization_name=viewer.org.name,
            profile=viewer.profile,
            timezone=viewer.org.timezone,
            refreshed_at=epoch_to_local(viewer.org.refreshed_at, viewer.org.timezone),
            capabilities=sorted(n for n, p in capabilities.items() if viewer.profile in p),
        )


@hookimpl
def tablero_capabilities():
    return {"core.me": PROFILES}


@hookimpl
def tablero_query_types():
    return [CoreQuery]
