"""The HTTP application: ``/graphql`` (with GraphiQL), ``/healthz``, ``/export/...csv``, ``/ingest``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from datetime import date, datetime

import anyio.to_thread
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL

from .auth import SERVICE, Principal, principal_from_header
from .closing import registry_rules, sync_contributed_reasons
from .context import TableroContext, load_viewer
from .csv_export import encode_rows, rows_kwargs
from .db import Database, streaming
from .errors import BadUserInput, Forbidden, NotFound, TableroError, Unauthenticated
from .filters import Channel, ReportFiltersInput, resolve_filters
from .periods import PeriodInput, PeriodPreset
from .permissions import check_capability
from .plugin_manager import Registry, make_plugin_manager
from .schema import build_schema
from .settings import Settings

CSV_CHUNK_ROWS = 2000


class TableroGraphQL(GraphQL):
    def __init__(self, schema, state: AppState, **kwargs):
        super().__init__(schema, **kwargs)
        self.state = state

    async def get_context(self, request, response) -> TableroContext:
        return self.state.context_for(request)


class AppState:
    def __init__(self, settings: Settings, db: Database, registry: Registry):
        self.settings = settings
        self.db = db
        self.registry = registry

    def context_for(self, request: Request) -> TableroContext:
        principal, error = None, None
        try:
            principal = principal_from_header(
                request.headers.get("authorization"),
                secret=self.settings.jwt_secret,
                public_key=self.settings.jwt_public_key,
            )
        except Unauthenticated as exc:
            error = exc
        return TableroContext(
            db=self.db,
            registry=self.registry,
            clock=self.settings.clock,
            principal=principal,
            auth_error=error,
            request=request,
        )


def _error_response(exc: TableroError) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": exc.message, "extensions": exc.extensions}]},
        status_code=exc.http_status,
    )


def filters_from_query(params) -> ReportFiltersInput:
    """The GraphQL filters, from CSV query parameters of the same names."""

    def parse(kind, name):
        raw = params.get(name)
        if raw in (None, ""):
            return None
        try:
            return kind(raw)
        except ValueError as exc:
            raise BadUserInput(f"query parameter {name}={raw!r} is not valid: {exc}") from exc

    preset = parse(lambda v: PeriodPreset[v.upper()], "period") if "period" in params else None
    if params.get("period") and preset is None:
        raise BadUserInput(f"unknown period {params.get('period')!r}")
    start, end = parse(date.fromisoformat, "start"), parse(date.fromisoformat, "end")
    period = None
    if preset is not None or start is not None or end is not None:
        period = PeriodInput(
            preset=preset or (PeriodPreset.CUSTOM if start or end else PeriodPreset.LAST_30_DAYS),
            start=start,
            end=end,
        )
    channel = parse(lambda v: Channel[v.upper()], "channel") if params.get("channel") else None
    as_of = parse(datetime.fromisoformat, "asOf")
    return ReportFiltersInput(
        period=period,
        group=params.get("group") or None,
        origin=params.get("origin") or None,
        channel=channel,
        advisor=params.get("advisor") or None,
        as_of=as_of,
    )


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    registry: Registry | None = None,
) -> Starlette:
    """The ASGI app. Plugins are collected here, once; nothing of pluggy runs per request."""
    settings = settings or Settings()
    db = db or Database(settings.database_url)
    registry = registry or Registry.collect(make_plugin_manager())
    schema = build_schema(registry, settings)
    state = AppState(settings, db, registry)
    graphql = TableroGraphQL(
        schema,
        state,
        graphql_ide=None if settings.production else "graphiql",
        allow_queries_via_get=False,
    )

    async def healthz(request: Request) -> Response:
        try:
            await db.run(lambda conn: conn.execute(text("select 1")).scalar())
        except Exception:  # noqa: BLE001 - report, don't raise
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": db.dialect, "plugins": registry.plugin_names})

    async def export_csv(request: Request) -> Response:
        plugin = request.path_params["plugin"]
        name = request.path_params["section"]
        section = registry.csv_sections.get((plugin, name))
        if section is None:
            return _error_response(NotFound(f"no CSV section /export/{plugin}/{name}.csv"))
        context = state.context_for(request)
        try:
            await check_capability(context, section.capability, f"/export/{plugin}/{name}.csv")
            filters = await resolve_filters(context, filters_from_query(request.query_params))
        except TableroError as exc:
            return _error_response(exc)
        params = dict(request.query_params)
        # Run the plugin's generator far enough to surface its input errors as a clean 400.
        iterator = iter(())
        conn = db.engine.connect()
        try:
            restore = streaming(conn)
        except Exception:
            conn.close()
            raise

        def close() -> None:
            try:
                restore()
            finally:
                conn.close()

        try:
            iterator = iter(
                section.rows(conn, filters, params, **rows_kwargs(section.rows, registry))
            )
            first = await anyio.to_thread.run_sync(_take, iterator, CSV_CHUNK_ROWS)
        except TableroError as exc:
            close()
            return _error_response(exc)
        except Exception:
            close()
            raise

        async def body():
            try:
                chunk = first
                while chunk:
                    yield encode_rows(chunk)
                    chunk = await anyio.to_thread.run_sync(_take, iterator, CSV_CHUNK_ROWS)
            finally:
                await anyio.to_thread.run_sync(close)

        filename = f"{plugin}-{name}.csv"
        return StreamingResponse(
            body(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    async def ingest(request: Request) -> Response:
        from .ingest import IngestRejected, ingest_lines

        try:
            principal = principal_from_header(
                request.headers.get("authorization"),
                secret=settings.jwt_secret,
                public_key=settings.jwt_public_key,
            )
            if principal.profile not in ("ADMIN", SERVICE):
                raise Forbidden("Only an ADMIN or a service token may ingest data.")
            viewer = await db.run(
                lambda conn: load_viewer(
                    conn, Principal(principal.user, principal.organization, "ADMIN")
                )
            )
        except TableroError as exc:
            return _error_response(exc)
        body = await request.body()
        if len(body) > settings.max_ingest_bytes:
            return _error_response(
                BadUserInput(
                    f"the body has {len(body)} bytes; send at most {settings.max_ingest_bytes} "
                    "per request, or use `tablero ingest` for large files"
                )
            )
        lines = body.decode("utf-8", errors="replace").splitlines()
        try:
            result = await anyio.to_thread.run_sync(
                lambda: ingest_lines(db, viewer.org.id, lines, chunk_size=max(len(lines), 1))
            )
        except IngestRejected as exc:
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": f"The batch was rejected: {len(exc.errors)} bad line(s); "
                            "nothing was written.",
                            "extensions": {"code": "BAD_USER_INPUT"},
                        }
                    ],
                    "badLines": [
                        {"line": e.line, "field": e.field, "reason": e.reason} for e in exc.errors
                    ],
                },
                status_code=400,
            )
        return JSONResponse({"counts": result.counts, "lines": result.lines})

    async def startup() -> None:
        rules = registry_rules(registry)
        if rules:
            await db.run_write(lambda conn: sync_contributed_reasons(conn, rules))

    routes = [
        Route("/healthz", healthz),
        Route("/export/{plugin}/{section}.csv", export_csv),
        Route("/ingest", ingest, methods=["POST"]),
        Route("/graphql", graphql, methods=["GET", "POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await startup()
        yield

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.tablero = state
    return app


def _take(iterator, count: int) -> list:
    out = []
    for row in iterator:
        out.append(row)
        if len(out) >= count:
            break
    return out


def dumps(value: object) -> str:
    return json.dumps(value, default=str)


__all__: Iterable[str] = ["create_app", "AppState", "filters_from_query"]
