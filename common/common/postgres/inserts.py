"""Rows of several tables written in one statement, where the ORM would take one per table."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


def insert_together(*groups: Sequence[Model]) -> None:
    """Insert each group's new instances (one model per group) in a single statement, one ``INSERT`` per
    group in the ``WITH`` clause, in the order given.

    For rows the caller knows all it needs of: a group's primary keys are all set by the caller, or all
    assigned by the database and not read back. Fields are prepared as ``save()`` prepares them
    (``auto_now_add`` included). Foreign keys between the groups hold, since Postgres checks them
    once the whole statement has run. No signals are sent.
    """
    inserts, params = [], []
    for index, instances in enumerate(group for group in groups if group):
        sql, values = _insert(instances)
        inserts.append(f"group_{index} AS ({sql})")
        params += values
    if not inserts:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(inserts)} SELECT 1", params)
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
