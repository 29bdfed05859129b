"""A row read as the ORM reads it, from SQL of the caller's own: for the reads every change makes (an
account's locked read), where building the query and its iterator cost more CPU than the round trip."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

M = TypeVar("M", bound=Model)


def columns(model: type[Model]) -> str:
    """The model's columns, in the order :func:`read_instance_and_more` expects them selected."""
    return ", ".join(field.column for field in model._meta.concrete_fields)


def read_instance_and_more(model: type[M], statement: str, params: Sequence[Any]) -> tuple[M, tuple[Any, ...]] | None:
    """The instance of the first row ``statement`` returns (selecting :func:`columns` first), or None; each
    value converted as a queryset converts it (JSON parsed, custom fields' ``from_db_value``). With it,
    whatever the statement selects after the model's columns, as the database gave it."""
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        return None
    names, converters = _reading(model)
    values = list(row[: len(names)])
    for index, convert in converters:
        values[index] = convert(values[index], db)
    return model.from_db(DEFAULT_DB_ALIAS, names, values), tuple(row[len(names) :])


@functools.cache
def _reading(model: type[Model]) -> tuple[list[str], list[tuple[int, Callable[[Any, Any], Any]]]]:
    """The field names ``from_db`` takes, and the converters of the columns that have any."""
    db = connections[DEFAULT_DB_ALIAS]
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        found = db.ops.get_db_converters(column) + field.get_db_converters(db)
        if found:
            converters.append((index, _chained(found, column)))
    return [field.attname for field in fields], converters


def _chained(converters: list[Callable], expression: Any) -> Callable[[Any, Any], Any]:
    def convert(value: Any, db: Any) -> Any:
        for converter in converters:
            value = converter(value, expression, db)
        return value

    return convert
