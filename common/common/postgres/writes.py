"""Rows written as ``save()`` would write them, in fewer statements and without the ORM's query building:
for the writes every change makes (an account's update, a posting's rows), where that building cost
as much CPU as the statement itself."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import DatabaseError, connection
from django.db.models import Model


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
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(clauses)} SELECT 1", params)
    mark_inserted(*groups)


def insert_clauses(*groups: Sequence[Model]) -> tuple[list[str], list]:
    """:func:`insert_together`'s ``WITH`` clauses and their parameters, for a statement that does something
    else as well; once it ran, :func:`mark_inserted` makes the instances saved ones."""
    clauses, params = [], []
    for index, instances in enumerate(group for group in groups if group):
        sql, values = _insert(instances)
        clauses.append(f"group_{index} AS ({sql})")
        params += values
    return clauses, params


def mark_inserted(*groups: Sequence[Model]) -> None:
    for instances in groups:
        for instance in instances:
            instance._state.adding = False
            instance._state.db = connection.alias


def _insert(instances: Sequence[Model]) -> tuple[str, list]:
    meta = instances[0]._meta
    fields = [field for field in meta.concrete_fields if not (field.primary_key and getattr(instances[0], field.attname) is None)]
    values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for instance in instances for field in fields]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(instances))}", values  # nosec B608 # the models' own names only


def update_fields(instance: Model, fields: Sequence[str]) -> None:
    """Write these fields of a saved instance in one ``UPDATE`` by primary key, prepared as
    ``save(update_fields=...)`` prepares them (``auto_now`` included) without its query building or signals."""
    meta = instance._meta
    changed = [meta.get_field(name) for name in fields]
    values = [field.get_db_prep_save(field.pre_save(instance, False), connection) for field in changed]
    assignments = ", ".join(f"{connection.ops.quote_name(field.column)} = %s" for field in changed)
    table, key = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE {key} = %s", [*values, instance.pk])  # nosec B608 # the model's own names only
        if cursor.rowcount != 1:  # as save(update_fields=...) refuses
            raise DatabaseError(f"no {meta.model_name} {instance.pk} to update")
