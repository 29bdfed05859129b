"""Rows written as ``save()`` would write them, in fewer statements and without the ORM's query building:
for the writes every change makes (an account's update, a posting's rows), where that building cost
as much CPU as the statement itself."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Field, Model


def insert_together(*groups: Sequence[Model]) -> None:
    """Insert each group's new instances (one model per group) in a single statement, one ``INSERT`` per
    group in the ``WITH`` clause, in the order given.

    For rows the caller knows all it needs of: a group's primary keys are all set by the caller, or all
    assigned by the database and not read back. Fields are prepared as ``save()`` prepares them
    (``auto_now_add`` included). Foreign keys between the groups hold, since Postgres checks them
    once the whole statement has run. No signals are sent.
    """
    clauses, params = insert_clauses(*groups)
    if not clauses:
        return
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"WITH {', '.join(clauses)} SELECT 1", params)
    mark_inserted(*groups)


def insert_clauses(*groups: Sequence[Model]) -> tuple[list[str], list]:
    """:func:`insert_together`'s ``WITH`` clauses and their parameters, for a statement that does something
    else as well; once it ran, :func:`mark_inserted` makes the instances saved ones."""
    db = connections[DEFAULT_DB_ALIAS]
    clauses, params = [], []
    for index, instances in enumerate(group for group in groups if group):
        model = type(instances[0])
        fields, sql = _insert(model, with_key=getattr(instances[0], model._meta.pk.attname) is not None, rows=len(instances))
        clauses.append(f"group_{index} AS ({sql})")
        params += [field.get_db_prep_save(field.pre_save(instance, True), db) for instance in instances for field in fields]
    return clauses, params


def mark_inserted(*groups: Sequence[Model]) -> None:
    for instances in groups:
        for instance in instances:
            instance._state.adding = False
            instance._state.db = DEFAULT_DB_ALIAS


def update_fields(instance: Model, fields: Sequence[str]) -> None:
    """Write these fields of a saved instance in one ``UPDATE`` by primary key, prepared as
    ``save(update_fields=...)`` prepares them (``auto_now`` included) without its query building or signals."""
    db = connections[DEFAULT_DB_ALIAS]
    changed, sql = _update(type(instance), tuple(fields))
    values = [field.get_db_prep_save(field.pre_save(instance, False), db) for field in changed]
    with db.cursor() as cursor:
        cursor.execute(sql, [*values, instance.pk])
        if cursor.rowcount != 1:  # as save(update_fields=...) refuses
            raise DatabaseError(f"no {instance._meta.model_name} {instance.pk} to update")


# The statements' text depends only on the model and the shape of the write: built once each.


@functools.lru_cache(maxsize=256)  # a shape is a model and a number of rows
def _insert(model: type[Model], *, with_key: bool, rows: int) -> tuple[list[Field], str]:
    meta, quote = model._meta, connections[DEFAULT_DB_ALIAS].ops.quote_name
    fields = [field for field in meta.concrete_fields if with_key or not field.primary_key]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    columns = ", ".join(quote(field.column) for field in fields)
    return fields, f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row] * rows)}"  # nosec B608 # the models' own names only


@functools.lru_cache(maxsize=256)
def _update(model: type[Model], fields: tuple[str, ...]) -> tuple[list[Field], str]:
    meta, quote = model._meta, connections[DEFAULT_DB_ALIAS].ops.quote_name
    changed = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in changed)
    return changed, f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # nosec B608 # the model's own names only
