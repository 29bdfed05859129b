"""Rows written as ``save()`` would write them, in fewer statements and without the ORM's query building:
for the writes every change makes (an account's update, a posting's rows), where that building cost
as much CPU as the statement itself."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Field, Model


@dataclass(frozen=True)
class RowUpdate:
    """These fields of a saved instance, written by primary key in the statement that inserts the change's
    new rows (the caller holds the row's lock, or knows nothing else writes it meanwhile)."""

    instance: Model
    fields: Sequence[str]


# What a statement of several writes writes: a group of new instances (one model per group), or a row update.
Write = Sequence[Model] | RowUpdate


def write_together(*writes: Write) -> None:
    """Insert each group's new instances (one model per group) and make the row updates, in a single
    statement: in its ``WITH`` clause one ``INSERT`` per model, its groups' rows in the order given,
    and one ``UPDATE`` per row update.

    For rows the caller knows all it needs of: a group's primary keys are all set by the caller, or all
    assigned by the database and not read back. Fields are prepared as ``save()`` prepares them
    (``auto_now_add`` and ``auto_now`` included). Foreign keys between the groups hold, since Postgres
    checks them once the whole statement has run. No signals are sent.
    """
    clauses, params, all_found = write_clauses(*writes)
    if not clauses:
        return
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"WITH {', '.join(clauses)} SELECT {all_found}", params)
        found = cursor.fetchone()[0]
    finish_writes(found, *writes)


def write_clauses(*writes: Write) -> tuple[list[str], list, str]:
    """:func:`write_together`'s ``WITH`` clauses and their parameters, for a statement that does something
    else as well, and a SQL expression for it to select: true when every row update found its row.
    Once the statement ran, :func:`finish_writes` checks that and makes the instances saved ones."""
    db = connections[DEFAULT_DB_ALIAS]
    clauses, params, updates = [], [], []
    for index, write in enumerate(_one_insert_per_model(writes)):
        name = f"write_{index}"
        if isinstance(write, RowUpdate):
            changed, sql = _update(type(write.instance), tuple(write.fields))
            clauses.append(f"{name} AS ({sql} RETURNING 1)")
            params += [*_prepared(write.instance, changed, db, adding=False), write.instance.pk]
            updates.append(f"(SELECT count(*) FROM {name})")  # nosec B608 # a name of our own clause
            continue
        model = type(write[0])
        fields, sql = _insert(model, with_key=getattr(write[0], model._meta.pk.attname) is not None, rows=len(write))
        clauses.append(f"{name} AS ({sql})")
        params += [value for instance in write for value in _prepared(instance, fields, db, adding=True)]
    all_found = f"{' + '.join(updates)} = {len(updates)}" if updates else "true"
    return clauses, params, all_found


def _one_insert_per_model(writes: Sequence[Write]) -> list[Write]:
    """The writes, with the groups of one model (and one kind of key) made one group, in the order given.

    The sub-statements of a ``WITH`` run in no set order, so rows of one model inserted by two of them
    could take the database's keys in either order; the rows of one ``INSERT`` take them in order.
    """
    merged: list[Write] = []
    by_shape: dict[tuple[type[Model], bool], list[Model]] = {}
    for write in writes:
        if isinstance(write, RowUpdate):
            merged.append(write)
            continue
        if not write:
            continue
        model = type(write[0])
        shape = (model, getattr(write[0], model._meta.pk.attname) is not None)
        if shape in by_shape:
            by_shape[shape].extend(write)
        else:
            by_shape[shape] = list(write)
            merged.append(by_shape[shape])
    return merged


def finish_writes(all_found: bool, *writes: Write) -> None:
    """After the statement of :func:`write_clauses` ran: an update that found no row is refused (as
    ``save(update_fields=...)`` refuses), and the inserted instances become saved ones."""
    if not all_found:
        raise DatabaseError("a row to update is not there")
    for write in writes:
        if isinstance(write, RowUpdate):
            continue
        for instance in write:
            instance._state.adding = False
            instance._state.db = DEFAULT_DB_ALIAS


def update_fields(instance: Model, fields: Sequence[str]) -> None:
    """Write these fields of a saved instance in one ``UPDATE`` by primary key, prepared as
    ``save(update_fields=...)`` prepares them (``auto_now`` included) without its query building or signals."""
    db = connections[DEFAULT_DB_ALIAS]
    changed, sql = _update(type(instance), tuple(fields))
    with db.cursor() as cursor:
        cursor.execute(sql, [*_prepared(instance, changed, db, adding=False), instance.pk])
        if cursor.rowcount != 1:  # as save(update_fields=...) refuses
            raise DatabaseError(f"no {instance._meta.model_name} {instance.pk} to update")


def _prepared(instance: Model, fields: Sequence[Field], db, *, adding: bool) -> list:
    return [field.get_db_prep_save(field.pre_save(instance, adding), db) for field in fields]


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
