"""Organizations and the defaults every new organization gets (SPEC 6.1, 6.5)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from .closing import ClosingReasonRule, registry_rules, sync_contributed_reasons
from .models import ClosingReason, OnboardingStep, Organization

DEFAULT_TIMEZONE = "America/Sao_Paulo"

# (external id, name, closes) — SPEC 6.5; ingestion refers to them by external id.
DEFAULT_CLOSING_REASONS: list[tuple[str, str, bool]] = [
    ("datos-incorrectos", "Datos incorrectos", True),
    ("esperando-respuesta", "Esperando respuesta", True),
    ("inactivo", "Inactivo", True),
    ("no-interesado", "No interesado", True),
    ("sin-stock", "Sin stock", True),
    ("venta", "Venta", True),
    ("esperando-visita", "Esperando visita", False),
    ("esperando-recordatorio", "Esperando recordatorio", False),
]

# (key, title) — the home page's first steps checklist (SPEC 6.1).
DEFAULT_ONBOARDING_STEPS: list[tuple[str, str]] = [
    ("enable_channel", "Enable a channel"),
    ("import_contacts", "Import your contacts"),
    ("invite_user", "Invite a user"),
    ("send_first_message", "Send your first message"),
    ("create_automation", "Create an automation"),
]


class OrganizationExists(ValueError):
    pass


def create_organization(
    conn: Connection,
    key: str,
    name: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    now: int | None = None,
    rules: Sequence[ClosingReasonRule] = (),
) -> int:
    """Create an organization with its default closing reasons and onboarding steps, and the
    closing reasons that plugins contribute through ``rules`` (the registry's
    ``closing_reason_rules``; the server also adds them to every organization at start-up).

    Returns the new organization's id; raises :class:`OrganizationExists` if ``key`` is taken.
    """
    from zoneinfo import ZoneInfo

    ZoneInfo(timezone)  # raises for an unknown zone before anything is written
    if conn.execute(select(Organization.id).where(Organization.key == key)).first():
        raise OrganizationExists(f"organization {key!r} already exists")
    now = int(time.time()) if now is None else now
    org_id = conn.execute(
        insert(Organization).values(
            key=key, name=name or key, timezone=timezone, created_at=now, refreshed_at=None
        )
    ).inserted_primary_key[0]
    conn.execute(
        insert(ClosingReason),
        [
            dict(
                organization_id=org_id,
                id=i,
                external_id=ext,
                name=label,
                closes=closes,
                archived=False,
            )
            for i, (ext, label, closes) in enumerate(DEFAULT_CLOSING_REASONS, start=1)
        ],
    )
    conn.execute(
        insert(OnboardingStep),
        [
            dict(organization_id=org_id, key=k, title=t, position=i, done=False, done_at=None)
            for i, (k, t) in enumerate(DEFAULT_ONBOARDING_STEPS, start=1)
        ],
    )
    if rules:
        sync_contributed_reasons(conn, rules, organization_id=org_id)
    return org_id


def installed_closing_rules() -> list[ClosingReasonRule]:
    """The closing-reason rules of the installed plugins (for commands that run no server)."""
    from .plugin_manager import Registry, make_plugin_manager

    return registry_rules(Registry.collect(make_plugin_manager()))


def organization_by_key(conn: Connection, key: str) -> Organization | None:
    row = conn.execute(select(Organization).where(Organization.key == key)).first()
    return row[0] if row else None
