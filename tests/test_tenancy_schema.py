"""The schema keeps tenants apart by construction: organization_id leads every key and index,
and the migrations create exactly the models (on SQLite and PostgreSQL)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import tablero.models  # noqa: F401


def test_organization_id_leads_every_primary_key_foreign_key_and_index():
    for table in SQLModel.metadata.sorted_tables:
        if table.name == "organization":
            continue
        assert "organization_id" in table.c, table.name
        assert list(table.primary_key.columns)[0].name == "organization_id", table.name
        for fk in table.foreign_key_constraints:
            if [c.name for c in fk.columns] == ["organization_id"]:
                continue  # the tenant's own row
            assert fk.column_keys[0] == "organization_id", (table.name, fk.name)
            assert fk.elements[0].column.name == "organization_id", (table.name, fk.name)
        for index in table.indexes:
            assert list(index.columns)[0].name == "organization_id", (table.name, index.name)
        for constraint in table.constraints:
            columns = getattr(constraint, "columns", None)
            if columns is not None and constraint.__class__.__name__ == "UniqueConstraint":
                assert list(columns)[0].name == "organization_id", (table.name, constraint)


def _for_this_dialect(dialect: str):
    """Alembic's include_object: leave out indexes created for another dialect only
    (``Index(...).ddl_if(dialect=...)``)."""

    def include(obj, name, type_, reflected, compare_to):
        if type_ == "index" and not reflected:
            wanted = getattr(getattr(obj, "_ddl_if", None), "dialect", None)
            return wanted is None or wanted == dialect
        return True

    return include


def test_migrations_create_exactly_the_models(db):
    def diff(conn):
        context = MigrationContext.configure(
            conn, opts={"include_object": _for_this_dialect(conn.dialect.name)}
        )
        return compare_metadata(context, SQLModel.metadata)

    assert db.read(diff) == []
