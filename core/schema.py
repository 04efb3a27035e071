"""The GraphQL schema, assembled from the plugins' contributions (the core names no plugin)."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from .errors import TableroError
from .plugin_manager import Registry
from .settings import Settings


def should_mask_error(error: GraphQLError) -> bool:
    """Mask everything but Tablero's domain errors and GraphQL's own (syntax, validation)."""
    original = error.original_error
    if original is None:
        return False
    if isinstance(original, TableroError):
        return False
    if isinstance(original, GraphQLError):  # e.g. argument coercion errors
        return should_mask_error(original)
    return True


class TableroSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Log only unexpected errors; domain and validation errors are the client's business."""
        unexpected = [e for e in errors if should_mask_error(e)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(registry: Registry, settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    query = merge_types("Query", tuple(t for _, t in registry.query_types))
    mutation = (
        merge_types("Mutation", tuple(t for _, t in registry.mutation_types))
        if registry.mutation_types
        else None
    )
    # The limits' validation rules are built once: a fresh rule class per request (what the
    # limiters' own factories make) is a new key of the validation cache every time, so every
    # request was validated again (~10 ms for a panel's query).
    limits = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    extensions = [
        lambda: AddValidationRules(limits),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: MaskErrors(should_mask_error=should_mask_error),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
    if settings.production:
        extensions.append(DisableIntrospection)
    return TableroSchema(
        query=query,
        mutation=mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=settings.production),
    )
