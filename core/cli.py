"""The ``tablero`` command line."""

from __future__ import annotations

import os
import sys

import click

from .db import Database, database_url_from_env
from .migrate import upgrade
from .models import PROFILES


@click.group(help="Tablero: GraphQL reporting backend. The database is TABLERO_DATABASE_URL "
             "(default: a SQLite file tablero.sqlite3 in the working directory).")
def main() -> None:
    pass


@main.command(help="Start the HTTP server (GraphQL at /graphql, GraphiQL in a browser).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="Seed a demo organization (small) on first start "
              "and print a token per profile.")
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    import uvicorn

    from .settings import Settings

    settings = Settings()
    click.echo(f"database: {settings.database_url}", err=True)
    upgrade(settings.database_url)
    if demo:
        _seed_demo(settings)
    if workers > 1:
        uvicorn.run("tablero.cli:_app_factory", host=host, port=port, workers=workers, factory=True)
    else:
        from .app import create_app

        click.echo(f"GraphiQL: http://{host}:{port}/graphql", err=True)
        uvicorn.run(create_app(settings), host=host, port=port)


def _app_factory():
    from .app import create_app

    return create_app()


def _seed_demo(settings) -> None:
    from .auth import mint_token
    from .orgs import organization_by_key

    db = Database(settings.database_url)
    org = db.read(lambda conn: organization_by_key(conn, "demo"))
    if org is None:
        from .ingest import load_demo

        click.echo("seeding the demo organization 'demo' (small scale)...", err=True)
        load_demo(db, "demo", "small", 1, progress=lambda msg: click.echo(msg, err=True))
    from .demo import DEMO_USERS

    seen = set()
    click.echo("Tokens for the demo organization (paste after 'Authorization: Bearer '):")
    for user, _name, profile in DEMO_USERS:
        if profile in PROFILES and profile not in seen:
            seen.add(profile)
            click.echo(f"{profile}: {mint_token(settings.jwt_secret, 'demo', user, profile)}")
    sys.stdout.flush()
    db.dispose()


@main.command(help="Mint a development token (HS256 with TABLERO_JWT_SECRET).")
@click.option("--org", required=True, help="Organization key, e.g. demo.")
@click.option("--user", required=True, help="User external id, e.g. admin.")
@click.option("--profile", required=True, type=click.Choice(PROFILES))
@click.option("--service", is_flag=True, help="A service token: may only POST /ingest.")
@click.option("--ttl-days", default=30, show_default=True, type=int)
def token(org: str, user: str, profile: str, service: bool, ttl_days: int) -> None:
    from .auth import mint_token
    from .settings import Settings

    click.echo(
        mint_token(Settings().jwt_secret, org, user, profile, service=service,
                   ttl_seconds=ttl_days * 86400)
    )


@main.command(help="Print the GraphQL schema (SDL) assembled from the installed plugins.")
def schema() -> None:
    from .plugin_manager import Registry, make_plugin_manager
    from .schema import build_schema

    click.echo(str(build_schema(Registry.collect(make_plugin_manager()))))


@main.group(help="Database maintenance.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply the schema migrations (SQLite or PostgreSQL).")
def db_upgrade() -> None:
    url = database_url_from_env()
    upgrade(url)
    click.echo(f"database at {url} is up to date")


def _attach_data_commands() -> None:
    try:
        from . import cli_data
    except ImportError:  # pragma: no cover - during development only
        return
    for name in ("org_group", "ingest_command", "refresh_command", "demo_command"):
        command = getattr(cli_data, name, None)
        if command is not None:
            main.add_command(command)


_attach_data_commands()

if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
