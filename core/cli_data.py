"""Data commands of the ``tablero`` CLI: organizations, ingestion, refresh, demo data.

Attached to the ``tablero`` group by :mod:`tablero.cli`. Every command uses the database of
``TABLERO_DATABASE_URL`` (default: the SQLite file ``tablero.sqlite3``) and applies the schema
migrations first.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from datetime import date
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from .db import Database, database_url_from_env
from .ingest import (
    BULK_CHUNK_SIZE,
    DEFAULT_CHUNK_SIZE,
    IngestRejected,
    ValidatingWorkerFailed,
    default_chunk_size,
    ingest_lines,
    organization_id_by_key,
)
from .migrate import upgrade
from .orgs import (
    DEFAULT_TIMEZONE,
    OrganizationExists,
    create_organization,
    installed_closing_rules,
)

DEMO_SCALES = ("tiny", "small", "medium", "large")
_PROGRESS_EVERY = 8192  # lines between progress-bar updates


def _database() -> Database:
    url = database_url_from_env()
    upgrade(url)
    return Database(url)


def _organization_id(db: Database, key: str) -> int:
    org_id = db.read(lambda conn: organization_id_by_key(conn, key))
    if org_id is None:
        raise click.ClickException(
            f"unknown organization {key!r}: create it with: tablero org create {key}"
        )
    return org_id


def _count_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {t}" for t, n in counts.items()) or "no records"


# --------------------------------------------------------------------------------------------
# tablero org ...
# --------------------------------------------------------------------------------------------


@click.group("org", help="Manage organizations (tenants): every row belongs to one.")
def org_group() -> None:
    pass


@org_group.command(
    "create",
    help="Create organization ORG (a short key such as 'acme', used by --org and in tokens) "
    "with the default closing reasons and onboarding steps.",
)
@click.argument("org")
@click.option("--name", help="Display name (default: the key).")
@click.option(
    "--timezone",
    default=DEFAULT_TIMEZONE,
    show_default=True,
    help="IANA time zone in which days, weeks and hours are counted.",
)
def org_create(org: str, name: str | None, timezone: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"unknown time zone {timezone!r}: use an IANA name such as America/Sao_Paulo",
            param_hint="--timezone",
        ) from None
    db = _database()
    try:
        rules = installed_closing_rules()
        org_id = db.write(
            lambda conn: create_organization(conn, org, name, timezone, rules=rules)
        )
    except OrganizationExists:
        raise click.ClickException(
            f"organization {org!r} already exists: choose another key"
        ) from None
    finally:
        db.dispose()
    click.echo(f"created organization {org} (id {org_id}, time zone {timezone})")


# --------------------------------------------------------------------------------------------
# tablero ingest ...
# --------------------------------------------------------------------------------------------


def _lines_with_progress(stream: BinaryIO, bar) -> Iterator[bytes]:
    """The stream's lines, one at a time, advancing ``bar`` by the bytes read."""
    pending = 0
    count = 0
    for line in stream:
        pending += len(line)
        count += 1
        if count == _PROGRESS_EVERY:
            bar.update(pending)
            pending = count = 0
        yield line
    bar.update(pending)


class _NoBar:
    def update(self, _n: int) -> None:
        pass


@click.command(
    "ingest",
    help="Ingest NDJSON files (one record per line, SPEC section 8) into organization ORG. "
    "Use - to read standard input. Files are streamed line by line and stored in chunks of "
    "--chunk-size lines, each in one transaction; a chunk with a bad line is rejected whole "
    "(every bad line is reported as file:line: field: reason) and the command exits with "
    "status 1, leaving the earlier chunks stored. Sending the same file again is harmless: "
    "records are upserted by their id.",
)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True)
)
@click.option("--org", "org_key", required=True, help="Organization key (see tablero org create).")
@click.option(
    "--chunk-size",
    default=None,
    type=click.IntRange(min=1),
    help=f"Lines per transaction [default: {DEFAULT_CHUNK_SIZE:,}; {BULK_CHUNK_SIZE:,} with "
    "--defer-facts].",
)
@click.option(
    "--defer-facts",
    is_flag=True,
    help="A bulk load (a first import, a history backfill): store the records chunk by chunk "
    "and recompute the organization's derived facts once, after each file (or after its last "
    "stored chunk when one is rejected), instead of in every chunk. Much faster for millions "
    "of records; until the file is done, reports show the facts as of before it. While it "
    "writes, the message table's indexes by period are off (in a table of at most a million "
    "messages) and reports over periods run slower; they are built at its end.",
)
def ingest_command(
    files: tuple[str, ...], org_key: str, chunk_size: int | None, defer_facts: bool
) -> None:
    chunk_size = default_chunk_size(defer_facts) if chunk_size is None else chunk_size
    db = _database()
    try:
        org_id = _organization_id(db, org_key)
        for number, path in enumerate(files):
            _ingest_file(db, org_id, path, chunk_size, files[:number], defer_facts)
    finally:
        db.dispose()


def _ingest_file(
    db: Database, org_id: int, path: str, chunk_size: int, done: tuple, defer_facts: bool = False
) -> None:
    name = "<stdin>" if path == "-" else path
    started = time.monotonic()
    on_chunk = None
    if path == "-":
        stream = click.open_file("-", "rb")  # standard input, left open
        bar_context = contextlib.nullcontext(_NoBar())

        def on_chunk(chunks: int, lines: int) -> None:
            click.echo(f"{name}: {lines:,} lines stored ({chunks} chunks)", err=True)
    else:
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
        bar_context = click.progressbar(
            length=os.path.getsize(path), label=f"ingesting {name}", file=sys.stderr
        )
    try:
        with bar_context as bar:
            result = ingest_lines(
                db, org_id, _lines_with_progress(stream, bar), chunk_size=chunk_size,
                on_chunk=on_chunk, defer_facts=defer_facts,
                on_refresh=lambda message: click.echo(f"\n{name}: {message}", err=True),
            )
        if defer_facts:
            click.echo(f"{name}: derived facts recomputed", err=True)
    except IngestRejected as exc:
        for error in exc.errors:
            click.echo(f"{name}:{error.line}: {error.field or '-'}: {error.reason}", err=True)
        first = (exc.chunk - 1) * chunk_size + 1
        click.echo(
            f"{name}: chunk {exc.chunk} (from line {first}) was rejected "
            f"({len(exc.errors)} bad line{'s' if len(exc.errors) != 1 else ''}); nothing of it "
            "was written.",
            err=True,
        )
        if exc.stored_chunks:
            click.echo(
                f"{name}: the {exc.stored_chunks} earlier chunk(s) (lines 1-{first - 1}) are "
                f"stored; fix the bad lines and send the file again (stored records are "
                "replaced, not duplicated).",
                err=True,
            )
        else:
            click.echo(f"{name}: nothing of this file was stored; fix the bad lines and send "
                       "it again.", err=True)
        if done:
            click.echo(f"the files before it are stored: {', '.join(done)}", err=True)
        click.get_current_context().exit(1)
    except ValidatingWorkerFailed as exc:
        click.echo(f"{name}: {exc}.", err=True)
        if exc.first_line > 1:
            click.echo(f"{name}: lines 1-{exc.first_line - 1:,} are stored, with their derived "
                       "facts;", err=True, nl=False)
        else:
            click.echo(f"{name}: nothing of this file was stored;", err=True, nl=False)
        click.echo(" send the file again (stored records are replaced, not duplicated), with a "
                   "smaller --chunk-size if memory is short.", err=True)
        if done:
            click.echo(f"the files before it are stored: {', '.join(done)}", err=True)
        click.get_current_context().exit(1)
    finally:
        if path != "-":
            stream.close()
    click.echo(
        f"{name}: {result.lines:,} lines, {_count_text(result.counts)} "
        f"({result.chunks} chunk{'s' if result.chunks != 1 else ''}, "
        f"{time.monotonic() - started:.1f} s)"
    )


# --------------------------------------------------------------------------------------------
# tablero refresh / tablero demo
# --------------------------------------------------------------------------------------------


@click.command(
    "refresh",
    help="Recompute every derived fact of organization ORG (business-hours durations, first "
    "responses, response intervals, phone states). Ingestion keeps them up to date already; "
    "use this after changing how facts are computed.",
)
@click.option("--org", "org_key", required=True, help="Organization key.")
def refresh_command(org_key: str) -> None:
    from . import derived

    db = _database()
    try:
        org_id = _organization_id(db, org_key)
        started = time.monotonic()
        derived.refresh(db, org_id, progress=lambda message: click.echo(message, err=True))
    finally:
        db.dispose()
    click.echo(f"refreshed the derived facts of {org_key} in {time.monotonic() - started:.1f} s")


@click.command(
    "demo",
    help="Load the deterministic demo data set into the organization given by --org (created "
    "if missing) and into a second small organization named after it with '-other'. Scales: "
    f"{', '.join(DEMO_SCALES)} (small: 2,000 contacts; medium: 100,000 contacts and 2 million "
    "messages; large: 1 million contacts and 20 million messages). Loading again is idempotent.",
)
@click.option("--org", "org_key", default="demo", show_default=True, help="Organization key.")
@click.option("--scale", type=click.Choice(DEMO_SCALES), default="small", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed: the same seed gives the same data.")
@click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day of data, YYYY-MM-DD (default: today).")
def demo_command(org_key: str, scale: str, seed: int, end) -> None:
    from .ingest import load_demo

    end_day: date | None = end.date() if end is not None else None
    db = _database()
    started = time.monotonic()
    try:
        load_demo(db, org_key, scale, seed, end=end_day,
                  progress=lambda message: click.echo(message, err=True))
    finally:
        db.dispose()
    click.echo(f"loaded the {scale} demo into {org_key} and {org_key}-other in "
               f"{time.monotonic() - started:.1f} s")


__all__ = ["demo_command", "ingest_command", "org_group", "refresh_command"]
