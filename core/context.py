"""The per-request context: who asks, for which organization, on which database, at what time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection
from strawberry.dataloader import DataLoader

from .auth import Principal
from .db import Database
from .errors import Forbidden, Unauthenticated
from .models import Organization, User

if TYPE_CHECKING:
    from .plugin_manager import Registry

T = TypeVar("T")


@dataclass(frozen=True)
class OrgInfo:
    id: int
    key: str
    name: str
    timezone: str
    refreshed_at: int | None


@dataclass(frozen=True)
class Viewer:
    """The authenticated principal resolved against the organization's data."""

    principal: Principal
    org: OrgInfo
    user_id: int | None  # the token's user in this organization, if known

    @property
    def profile(self) -> str:
        return self.principal.profile

    @property
    def is_agent(self) -> bool:
        return self.principal.profile == "AGENT"


def load_viewer(conn: Connection, principal: Principal) -> Viewer:
    org = conn.execute(
        select(
            Organization.id,
            Organization.key,
            Organization.name,
            Organization.timezone,
            Organization.refreshed_at,
        ).where(Organization.key == principal.organization)
    ).first()
    if org is None:
        # Unknown organizations are indistinguishable from a bad token: nothing is revealed.
        raise Unauthenticated("The token's organization is not known to this server.")
    user_id = conn.execute(
        select(User.id).where(User.organization_id == org.id, User.external_id == principal.user)
    ).scalar()
    return Viewer(principal, OrgInfo(*org), user_id)


@dataclass
class TableroContext:
    """What every resolver gets as ``info.context``."""

    db: Database
    registry: Registry
    clock: Callable[[], datetime]
    principal: Principal | None = None
    auth_error: Exception | None = None
    request: Any = None
    _viewer: Viewer | None = None
    _loaders: dict[str, DataLoader] = field(default_factory=dict)
    _now: datetime | None = None

    @property
    def now(self) -> datetime:
        """The request's clock reading, fixed for the whole request."""
        if self._now is None:
            self._now = self.clock()
        return self._now

    async def viewer(self) -> Viewer:
        """The authenticated viewer; raises ``UNAUTHENTICATED`` without a valid token."""
        if self._viewer is None:
            if self.principal is None:
                raise self.auth_error or Unauthenticated("Authentication required.")
            if self.principal.profile == "SERVICE":
                raise Forbidden("A service token may only ingest data.")
            self._viewer = await self.db.run(lambda conn: load_viewer(conn, self.principal))
        return self._viewer

    def loader(
        self, name: str, load: Callable[[list[Any]], Awaitable[list[Any]]]
    ) -> DataLoader:
        """A DataLoader that lives as long as this request (created on first use)."""
        if name not in self._loaders:
            self._loaders[name] = DataLoader(load_fn=load)
        return self._loaders[name]

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run a blocking query function on a worker thread."""
        return await self.db.run(fn)
