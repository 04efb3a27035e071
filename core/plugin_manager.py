"""The plugin manager and the registry of plugin contributions, collected once at start-up.

Built-in panels are found through the ``tablero`` entry-point group, exactly like third-party
packages. :func:`make_plugin_manager` lets tests choose what loads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy
import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from . import hookspecs
from .errors import StartupError
from .permissions import Capabilities, required_capability

ENTRY_POINT_GROUP = "tablero"


def make_plugin_manager(
    load_entrypoints: bool = True, plugins: Iterable[Any] = (), block: Iterable[str] = ()
) -> pluggy.PluginManager:
    """A fresh plugin manager: entry-point plugins (unless disabled) plus ``plugins`` given."""
    pm = pluggy.PluginManager("tablero")
    pm.add_hookspecs(hookspecs)
    for name in block:
        pm.set_blocked(name)
    pm.register(_core_plugin(), name="core")
    if load_entrypoints:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in plugins:
        pm.register(plugin, name=getattr(plugin, "__name__", None))
    pm.check_pending()
    return pm


def _core_plugin():
    from . import core_fields

    return core_fields


def _plugin_label(pm: pluggy.PluginManager, plugin: Any) -> str:
    name = pm.get_name(plugin) or repr(plugin)
    return name.rsplit(".", 1)[-1] if name.startswith("tablero.plugins.") else name


@dataclass
class Registry:
    """Everything the plugins contributed, checked for conflicts."""

    plugin_names: list[str] = field(default_factory=list)
    capabilities: Capabilities = field(default_factory=Capabilities)
    query_types: list[tuple[str, type]] = field(default_factory=list)
    mutation_types: list[tuple[str, type]] = field(default_factory=list)
    csv_sections: dict[tuple[str, str], Any] = field(default_factory=dict)
    closing_reason_rules: list[tuple[str, Any]] = field(default_factory=list)
    quick_actions: list[tuple[str, Any]] = field(default_factory=list)
    funnel_stages: list[tuple[str, Any]] = field(default_factory=list)
    rfm_segments: list[tuple[str, Any]] = field(default_factory=list)
    demo_record_plugins: list[tuple[str, Any]] = field(default_factory=list)
    pm: pluggy.PluginManager | None = None

    @classmethod
    def collect(cls, pm: pluggy.PluginManager) -> Registry:
        registry = cls(pm=pm)
        registry.plugin_names = [_plugin_label(pm, p) for p in pm.get_plugins()]

        def results(hook_name: str):
            for impl in getattr(pm.hook, hook_name).get_hookimpls():
                value = impl.function()
                if value is None:
                    continue
                yield _plugin_label(pm, impl.plugin), value

        for plugin, caps in results("tablero_capabilities"):
            for name, profiles in dict(caps).items():
                registry.capabilities.register(name, profiles, plugin)
        for plugin, types in results("tablero_query_types"):
            registry.query_types += [(plugin, t) for t in types]
        for plugin, types in results("tablero_mutation_types"):
            registry.mutation_types += [(plugin, t) for t in types]
        for plugin, sections in results("tablero_csv_sections"):
            for section in sections:
                key = (section.plugin, section.name)
                if key in registry.csv_sections:
                    raise StartupError(
                        f"CSV section /export/{key[0]}/{key[1]}.csv is contributed twice "
                        f"(second time by {plugin!r})"
                    )
                registry.csv_sections[key] = section
        for attr, hook in (
            ("closing_reason_rules", "tablero_closing_reason_rules"),
            ("quick_actions", "tablero_quick_actions"),
            ("funnel_stages", "tablero_funnel_stages"),
            ("rfm_segments", "tablero_rfm_segments"),
        ):
            for plugin, items in results(hook):
                getattr(registry, attr).extend((plugin, item) for item in items)
        for impl in pm.hook.tablero_demo_records.get_hookimpls():
            registry.demo_record_plugins.append((_plugin_label(pm, impl.plugin), impl.function))
        registry._check_fields()
        for section in registry.csv_sections.values():
            if section.capability not in registry.capabilities:
                raise StartupError(
                    f"CSV section {section.plugin}/{section.name} needs unknown capability "
                    f"{section.capability!r}"
                )
        return registry

    def _check_fields(self) -> None:
        converter = StrawberryConfig().name_converter
        for root, contributions in (("Query", self.query_types), ("Mutation", self.mutation_types)):
            owners: dict[str, str] = {}
            for plugin, type_ in contributions:
                definition = getattr(type_, "__strawberry_definition__", None)
                if definition is None:
                    raise StartupError(f"plugin {plugin!r} contributed {type_!r}, not a strawberry type")
                for f in definition.fields:
                    name = converter.get_graphql_name(f)
                    if name in owners:
                        raise StartupError(
                            f"{root}.{name} is contributed by both {owners[name]!r} and {plugin!r}"
                        )
                    owners[name] = plugin
                    caps = [required_capability(p) for p in f.permission_classes]
                    caps = [c for c in caps if c]
                    if not caps:
                        raise StartupError(
                            f"{root}.{name} from plugin {plugin!r} has no Requires(...) permission"
                        )
                    for cap in caps:
                        if cap not in self.capabilities:
                            raise StartupError(
                                f"{root}.{name} from plugin {plugin!r} requires unknown "
                                f"capability {cap!r}"
                            )
        self._check_type_names()

    def _check_type_names(self) -> None:
        """Two plugins defining different types with one GraphQL name: fail naming both."""
        seen: dict[str, tuple[str, Any]] = {}
        by_plugin: dict[str, list[type]] = {}
        for plugin, type_ in self.query_types + self.mutation_types:
            by_plugin.setdefault(plugin, []).append(type_)
        for plugin, types in by_plugin.items():
            query = merge_types(f"Probe_{abs(hash(plugin))}", tuple(types))
            schema = strawberry.Schema(query=query)
            for name, concrete in schema.schema_converter.type_map.items():
                origin = getattr(concrete.definition, "origin", concrete.definition)
                if name.startswith("Probe_"):
                    continue
                if name in seen and seen[name][1] is not origin:
                    raise StartupError(
                        f"GraphQL type {name!r} is defined by both {seen[name][0]!r} and {plugin!r}"
                    )
                seen.setdefault(name, (plugin, origin))
