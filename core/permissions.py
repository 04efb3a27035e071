"""Permissions (SPEC section 2): a capability registry that plugins extend, enforced by the core.

A plugin declares capabilities (``tablero_capabilities`` hook: name -> profiles) and guards each of
its fields with ``permission_classes=[Requires("its.capability")]``. The core refuses to start if a
plugin's root field has no ``Requires`` or names an unknown capability, so a panel cannot forget.
Denied is an error (``FORBIDDEN``), never an empty answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from .errors import Forbidden, StartupError
from .models import PROFILES


class Capabilities:
    """Capability name -> the profiles that hold it."""

    def __init__(self) -> None:
        self._profiles: dict[str, frozenset[str]] = {}
        self._owner: dict[str, str] = {}

    def register(self, name: str, profiles: Iterable[str], plugin: str) -> None:
        profiles = frozenset(profiles)
        unknown = profiles - set(PROFILES)
        if unknown:
            raise StartupError(
                f"plugin {plugin!r}: capability {name!r} names unknown profiles {sorted(unknown)}"
            )
        if name in self._profiles:
            raise StartupError(
                f"capability {name!r} is declared by both {self._owner[name]!r} and {plugin!r}"
            )
        self._profiles[name] = profiles
        self._owner[name] = plugin

    def __contains__(self, name: str) -> bool:
        return name in self._profiles

    def allows(self, name: str, profile: str) -> bool:
        return profile in self._profiles.get(name, frozenset())

    def profiles(self, name: str) -> frozenset[str]:
        return self._profiles[name]

    def items(self):
        return self._profiles.items()


class _Requires(BasePermission):
    capability: str = ""

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        context = info.context
        viewer = await context.viewer()  # raises UNAUTHENTICATED without a valid token
        if not context.registry.capabilities.allows(self.capability, viewer.profile):
            raise Forbidden(
                f"The {viewer.profile} profile may not use {info.field_name} "
                f"(needs {self.capability!r})."
            )
        return True


@cache
def Requires(capability: str) -> type[BasePermission]:  # noqa: N802 - reads like a class
    """A permission class: the viewer's profile must hold ``capability``."""
    return type(f"Requires[{capability}]", (_Requires,), {"capability": capability})


def required_capability(permission_class: type) -> str | None:
    if isinstance(permission_class, type) and issubclass(permission_class, _Requires):
        return permission_class.capability
    return None


async def check_capability(context, capability: str, what: str = "this"):
    """For code paths outside GraphQL fields (CSV export): the viewer, or FORBIDDEN."""
    viewer = await context.viewer()
    if not context.registry.capabilities.allows(capability, viewer.profile):
        raise Forbidden(f"The {viewer.profile} profile may not use {what}.")
    return viewer
