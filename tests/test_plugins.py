"""Plugin assembly: entry points, conflicts rejected naming both plugins, permissions enforced,
every hook documented and exercised (as Datasette tests itself)."""

import inspect
from pathlib import Path

import pluggy
import pytest
import strawberry

from tablero import Requires, hookimpl
from tablero import hookspecs
from tablero.errors import StartupError
from tablero.plugin_manager import Registry, make_plugin_manager

DOCS = Path(__file__).parent.parent / "docs" / "hooks.md"
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("tablero_"))


def named(name):
    """Give a test plugin class the name the registry reports for it."""

    def rename(cls):
        cls.__name__ = name
        return cls

    return rename


def registry_with(*plugins):
    return Registry.collect(make_plugin_manager(load_entrypoints=False, plugins=plugins))


def field_plugin(name: str, field: str, capability: str = "x.view", declare: bool = True):
    """A throwaway plugin contributing Query.<field>."""

    async def resolver(self) -> int:
        return 1

    query = strawberry.type(
        type(
            f"{name}Query",
            (),
            {field: strawberry.field(resolver=resolver, permission_classes=[Requires(capability)])},
        )
    )

    @named(name)
    class Plugin:

        @staticmethod
        @hookimpl
        def tablero_query_types():
            return [query]

        if declare:

            @staticmethod
            @hookimpl
            def tablero_capabilities():
                return {f"{name}.view": ["ADMIN"]} if capability == f"{name}.view" else {}

    return Plugin


def test_built_in_panels_and_the_example_load_through_entry_points():
    registry = Registry.collect(make_plugin_manager())
    for name in ("home", "contacts_behaviour", "conversations", "success_monitor", "resolution"):
        assert name in registry.plugin_names
    assert "messages_per_channel" in registry.plugin_names
    from tablero.schema import build_schema

    sdl = str(build_schema(registry))
    assert "messagesPerChannel(" in sdl  # the example package's panel, no core change


def test_two_plugins_claiming_one_field_fail_naming_both():
    first = field_plugin("alpha", "sameField", "alpha.view")
    second = field_plugin("beta", "sameField", "beta.view")
    with pytest.raises(StartupError, match=r"Query\.sameField is contributed by both 'alpha' and 'beta'"):
        registry_with(first, second)


def test_two_plugins_defining_one_type_name_fail_naming_both():
    def plugin_with_type(name):
        thing = strawberry.type(type("Thing", (), {"__annotations__": {"x": int}}))

        async def resolver(self) -> thing:  # type: ignore[valid-type]
            return thing(x=1)

        query = strawberry.type(
            type(
                f"{name}Q",
                (),
                {
                    f"{name}Thing": strawberry.field(
                        resolver=resolver, permission_classes=[Requires(f"{name}.view")]
                    )
                },
            )
        )

        @named(name)
        class Plugin:

            @staticmethod
            @hookimpl
            def tablero_query_types():
                return [query]

            @staticmethod
            @hookimpl
            def tablero_capabilities():
                return {f"{name}.view": ["ADMIN"]}

        return Plugin

    with pytest.raises(StartupError, match="type 'Thing' is defined by both 'one' and 'two'"):
        registry_with(plugin_with_type("one"), plugin_with_type("two"))


def test_a_field_without_permission_is_refused():
    async def resolver(self) -> int:
        return 1

    query = strawberry.type(type("OpenQuery", (), {"open": strawberry.field(resolver=resolver)}))

    @named("careless")
    class Plugin:

        @staticmethod
        @hookimpl
        def tablero_query_types():
            return [query]

    with pytest.raises(StartupError, match="Query.open from plugin 'careless' has no Requires"):
        registry_with(Plugin)


def test_an_unknown_capability_is_refused():
    with pytest.raises(StartupError, match="requires unknown capability 'nobody.view'"):
        registry_with(field_plugin("gamma", "g", "nobody.view"))


def test_a_capability_declared_twice_is_refused():
    @named("a")
    class A:

        @staticmethod
        @hookimpl
        def tablero_capabilities():
            return {"shared.view": ["ADMIN"]}

    @named("b")
    class B:

        @staticmethod
        @hookimpl
        def tablero_capabilities():
            return {"shared.view": ["ADMIN"]}

    with pytest.raises(StartupError, match="declared by both 'a' and 'b'"):
        registry_with(A, B)


def test_a_misspelled_hook_is_caught_by_check_pending():
    @named("typo")
    class Typo:

        @staticmethod
        @hookimpl
        def tablero_query_typez():
            return []

    with pytest.raises(pluggy.PluginValidationError):
        make_plugin_manager(load_entrypoints=False, plugins=[Typo])


def test_the_factory_lets_tests_choose_what_loads():
    registry = Registry.collect(make_plugin_manager(load_entrypoints=False))
    assert registry.plugin_names == ["core"]
    blocked = Registry.collect(make_plugin_manager(block=["messages_per_channel"]))
    assert "messages_per_channel" not in blocked.plugin_names


def test_every_hook_is_documented_with_its_signature():
    text = DOCS.read_text(encoding="utf-8")
    for name in HOOKS:
        params = inspect.signature(getattr(hookspecs, name)).parameters
        signature = f"{name}({', '.join(params)})"
        assert f"### `{signature}" in text, f"docs/hooks.md lacks a section for {signature}"


def test_every_hook_has_a_test():
    """Each hook is exercised by name somewhere in the test suite."""
    tests = "".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.rglob("test_*.py"))
    for name in HOOKS:
        uses = tests.count(f"def {name}")
        assert uses >= 1, f"no test plugin implements {name}"


def test_demo_records_hook_and_csv_hook_are_collected():
    from tablero import CsvSection

    @named("extra")
    class Extra:

        @staticmethod
        @hookimpl
        def tablero_demo_records(scale, seed):
            return [{"type": "group", "id": f"extra-{scale}-{seed}", "name": "Extra"}]

        @staticmethod
        @hookimpl
        def tablero_capabilities():
            return {"extra.view": ["ADMIN"]}

        @staticmethod
        @hookimpl
        def tablero_csv_sections():
            return [CsvSection("extra", "rows", "extra.view", lambda conn, f, p: iter([["a"]]))]

        @staticmethod
        @hookimpl
        def tablero_mutation_types():
            return []

    registry = registry_with(Extra)
    (plugin, function), = registry.demo_record_plugins
    assert plugin == "extra" and list(function(scale="tiny", seed=3))[0]["id"] == "extra-tiny-3"
    assert ("extra", "rows") in registry.csv_sections


def test_quick_action_funnel_segment_and_reason_hooks_are_collected():
    from tablero import ClosingReasonRule, QuickAction

    @named("contrib")
    class Contributions:

        @staticmethod
        @hookimpl
        def tablero_quick_actions():
            return [QuickAction("reports", "Reports", "/reports")]

        @staticmethod
        @hookimpl
        def tablero_closing_reason_rules():
            return [ClosingReasonRule("venta", category="won")]

        @staticmethod
        @hookimpl
        def tablero_funnel_stages():
            return ["a stage"]

        @staticmethod
        @hookimpl
        def tablero_rfm_segments():
            return ["a segment"]

    registry = registry_with(Contributions)
    assert registry.quick_actions == [("contrib", QuickAction("reports", "Reports", "/reports"))]
    assert registry.closing_reason_rules[0][1].category == "won"
    assert registry.funnel_stages == [("contrib", "a stage")]
    assert registry.rfm_segments == [("contrib", "a segment")]


def test_demo_records_hook_feeds_tablero_demo(sqlite_db):
    """`tablero demo` ingests a plugin's demo records into the demo organization."""
    from datetime import date

    from sqlalchemy import select

    from tablero.ingest import load_demo
    from tablero.models import ContactGroup

    @named("demo_extra")
    class DemoExtra:
        @staticmethod
        @hookimpl
        def tablero_demo_records(scale, seed):
            return [{"type": "group", "id": "plugin-group", "name": f"From a plugin ({scale})"}]

    registry = registry_with(DemoExtra)
    org_id = load_demo(sqlite_db, "demo-hook", "tiny", 3, end=date(2026, 11, 25), registry=registry)
    names = sqlite_db.read(
        lambda conn: conn.execute(
            select(ContactGroup.name).where(
                ContactGroup.organization_id == org_id, ContactGroup.external_id == "plugin-group"
            )
        ).scalars().all()
    )
    assert names == ["From a plugin (tiny)"]
