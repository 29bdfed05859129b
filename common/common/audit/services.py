"""Recording and verifying the audit trail.

:func:`record` adds an entry in the caller's transaction (the change and its entry commit together
or not at all) when the change has an actor (:func:`record_all`, several); the subject's chain is
extended under a lock of its head row (two statements: lock the head, then insert the entries and
move the head; one for a subject new in the transaction, or whose head the caller read locked).
Each entry's hash is ``HMAC-SHA256(AUDIT_HMAC_KEY, previous hash + the entry's canonical JSON)``:
editing an entry, removing one or inserting one breaks the chain at that entry, and without the key
nobody can write a chain that verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, NamedTuple

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from pydantic import BaseModel

from common.audit.actors import current_actor
from common.audit.models import AuditEntry, AuditHead
from common.postgres.writes import Write, finish_writes, write_clauses, write_together

GENESIS = "0" * 64  # the "previous hash" of a subject's first entry
Recorded = dict[str, Any] | BaseModel


def record(
    *,
    subject_type: str,
    subject_id: uuid.UUID,
    action: str,
    before: Recorded | None,
    after: Recorded | None,
    head: Head | None = None,
) -> AuditEntry | None:
    """Record the current actor's change of the subject; nothing when no operator or API key made it.

    ``before`` and ``after`` are dicts or pydantic models (an event's payload), stored as JSON.
    """
    entries = record_all(subject_type=subject_type, subject_id=subject_id, changes=[Change(action, before, after)], head=head)
    return entries[0] if entries else None


class Change(NamedTuple):
    """One change of a subject to record: what was done, and the subject before and after it."""

    action: str
    before: Recorded | None
    after: Recorded | None


@dataclass
class Head:
    """A subject's chain head as the caller's transaction read it, locked (:func:`with_locked_head`): what
    the next entry follows. :func:`record_all` moves it along as it appends; an entry recorded without
    it would leave it behind (the next entry's sequence would then be refused as taken)."""

    id: int
    sequence: int
    entry_hash: str

    @classmethod
    def read(cls, values: Sequence[Any]) -> Head | None:
        """The head from the values :func:`with_locked_head` selects; None for a subject without a chain yet."""
        return None if values[0] is None else cls(*values)


def with_locked_head(locking_read: str, *, subject_type: str) -> str:
    """``locking_read`` (a ``SELECT ... FOR UPDATE`` of one subject's row, with its ``id``), then its audit
    chain's head locked and selected after the subject's columns (:meth:`Head.read`): one round trip where
    :func:`record_all` would take a statement of its own to lock the head. The subject is locked first,
    as it is when the head is locked later in the transaction."""
    if not subject_type.isidentifier():
        raise ValueError(f"not a subject type: {subject_type!r}")
    return f"""
        SELECT subject.*, head.id, head.sequence, head.entry_hash FROM ({locking_read}) AS subject
        LEFT JOIN LATERAL (
            SELECT id, sequence, entry_hash FROM {AuditHead._meta.db_table}
            WHERE subject_type = '{subject_type}' AND subject_id = subject.id FOR UPDATE
        ) AS head ON true
    """  # nosec B608 # the model's own table, and a subject type checked to be a plain name


def record_all(
    *,
    subject_type: str,
    subject_id: uuid.UUID,
    changes: Sequence[Change],
    written_with: Sequence[Write] = (),
    new_subject: bool = False,
    head: Head | None = None,
) -> list[AuditEntry]:
    """Like :func:`record`, for several changes of one subject in the order they happened: still two
    statements, however many entries the chain grows by.

    ``written_with``: the writes of the same changes (groups of new rows such as their events' outbox rows,
    row updates), made by the statement that appends the entries (as
    :func:`~common.postgres.writes.write_together` makes them), or by one of their own when no entry is
    recorded.

    ``new_subject``: the subject was created by the caller's transaction, so its chain starts here and
    nobody else can append to it before this commits: one statement, which inserts its head as well.
    ``head``: the subject's head, which the caller's transaction read locked (:func:`with_locked_head`):
    one statement too.
    """
    actor = current_actor()
    if actor is None or not changes:
        write_together(*written_with)
        return []
    with transaction.atomic(savepoint=False):
        if new_subject:
            head_id, newest, previous_hash = None, 0, GENESIS
        elif head is not None:
            head_id, newest, previous_hash = head.id, head.sequence, head.entry_hash
        else:
            head_id, newest, previous_hash = _locked_head(subject_type, subject_id)
        entries, texts = [], []
        for sequence, change in enumerate(changes, start=newest + 1):
            before, after = _json_text(change.before), _json_text(change.after)
            entry = AuditEntry(
                subject_type=subject_type, subject_id=subject_id, sequence=sequence, actor_type=actor.type,
                actor_id=actor.id, actor_name=actor.name, action=change.action, request_id=actor.request_id,
                before=_parsed(before), after=_parsed(after), created_at=timezone.now(), previous_hash=previous_hash,
            )  # fmt: skip
            entry.entry_hash = previous_hash = _hash(entry)
            entries.append(entry)
            texts.append({"before": before, "after": after})
        appended = _append(entries, texts, head_id=head_id, written_with=written_with)
        for entry, entry_id in zip(entries, appended, strict=True):
            entry.id = entry_id
            entry._state.adding = False
        if head is not None:
            head.sequence, head.entry_hash = entries[-1].sequence, entries[-1].entry_hash
    return entries


def _locked_head(subject_type: str, subject_id: uuid.UUID) -> tuple[int, int, str]:
    """The subject's head (id, newest sequence, its hash), created if new and locked either way, in one
    statement: an upsert locks the row it finds, so concurrent entries of one subject chain in turn."""
    table = AuditHead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} AS head (subject_type, subject_id, sequence, entry_hash) VALUES (%s, %s, 0, %s)
            ON CONFLICT (subject_type, subject_id) DO UPDATE SET sequence = head.sequence
            RETURNING id, sequence, entry_hash
            """,  # nosec B608 # only the model's own table name is interpolated; every value is a parameter
            [subject_type, subject_id, GENESIS],
        )
        return cursor.fetchone()


_ENTRY_COLUMNS = (
    "subject_type", "subject_id", "sequence", "actor_type", "actor_id", "actor_name", "action", "request_id",
    "before", "after", "created_at", "previous_hash", "entry_hash",
)  # fmt: skip
_JSON_COLUMNS = frozenset({"before", "after"})


def _append(
    entries: list[AuditEntry], texts: list[dict[str, str | None]], *, head_id: int | None, written_with: Sequence[Write]
) -> list[int]:
    """Insert the entries (``texts``: each one's JSON columns as text), make the writes that go with them, and
    move their subject's head to the last (or insert it, for a new subject: ``head_id`` None), in one
    statement; the entries' ids, in order."""
    writes, written, all_found = write_clauses(*written_with)
    last, head = entries[-1], AuditHead._meta.db_table
    if head_id is None:
        move_head = f"INSERT INTO {head} (subject_type, subject_id, sequence, entry_hash) VALUES (%s, %s, %s, %s)"  # nosec B608 # the model's own table
        head_params = [last.subject_type, last.subject_id, last.sequence, last.entry_hash]
    else:
        move_head = f"UPDATE {head} SET sequence = %s, entry_hash = %s WHERE id = %s"  # nosec B608 # the model's own table
        head_params = [last.sequence, last.entry_hash, head_id]
    values = [
        text[column] if column in _JSON_COLUMNS else getattr(entry, column)
        for entry, text in zip(entries, texts, strict=True)
        for column in _ENTRY_COLUMNS
    ]
    row = "(" + ", ".join("%s::jsonb" if column in _JSON_COLUMNS else "%s" for column in _ENTRY_COLUMNS) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH entry AS (
                INSERT INTO {AuditEntry._meta.db_table} ({", ".join(_ENTRY_COLUMNS)}) VALUES {", ".join([row] * len(entries))}
                RETURNING id
            ){"".join(f", {write}" for write in writes)}
            {move_head}
            RETURNING (SELECT array_agg(id ORDER BY id) FROM entry), {all_found}
            """,  # nosec B608 # only the models' own table and column names are interpolated; every value is a parameter
            [*values, *written, *head_params],
        )
        entry_ids, found = cursor.fetchone()
    finish_writes(found, *written_with)
    return entry_ids


@dataclass(frozen=True)
class Break:
    """Where a subject's chain stops holding: the first entry that does not verify, and why."""

    subject_type: str
    subject_id: uuid.UUID
    sequence: int
    entry_id: int | None
    problem: str


def verify() -> tuple[int, list[Break]]:
    """Check every subject's chain, entry by entry and against its head; return how many entries were
    checked and the first break of each broken chain."""
    heads = {(head.subject_type, head.subject_id): head for head in AuditHead.objects.all()}
    entries = AuditEntry.objects.order_by("subject_type", "subject_id", "sequence").iterator()
    checked, breaks, seen = 0, [], set()
    for subject, chain in groupby(entries, key=lambda entry: (entry.subject_type, entry.subject_id)):
        seen.add(subject)
        expected, previous, broken = 1, GENESIS, None
        for entry in chain:
            checked += 1
            problem = None if broken else _problem(entry, expected, previous)
            if problem:
                broken = Break(*subject, entry.sequence, entry.id, problem)
            expected, previous = entry.sequence + 1, entry.entry_hash
        head = heads.get(subject)
        if broken is None and (head is None or (head.sequence, head.entry_hash) != (expected - 1, previous)):
            recorded = head.sequence if head else "no"
            broken = Break(*subject, expected, None, f"the chain ends at entry {expected - 1} but {recorded} were recorded")
        if broken:
            breaks.append(broken)
    for subject, head in heads.items():
        if subject not in seen and head.sequence:
            breaks.append(Break(*subject, 1, None, f"all {head.sequence} entries are missing"))
    return checked, breaks


def history(*, subject_type: str, subject_id: uuid.UUID) -> list[AuditEntry]:
    """The subject's entries, newest first."""
    return list(AuditEntry.objects.filter(subject_type=subject_type, subject_id=subject_id).order_by("-sequence"))


def _problem(entry: AuditEntry, expected_sequence: int, previous: str) -> str:
    if entry.sequence != expected_sequence:
        return f"entry {expected_sequence} is missing" if entry.sequence > expected_sequence else "sequence repeated"
    if entry.previous_hash != previous:
        return "does not follow the entry before it"
    if not hmac.compare_digest(entry.entry_hash, _hash(entry)):
        return "its content does not match its hash (edited)"
    return ""


def _hash(entry: AuditEntry) -> str:
    content = {
        "subject_type": entry.subject_type, "subject_id": str(entry.subject_id), "sequence": entry.sequence,
        "actor_type": entry.actor_type, "actor_id": entry.actor_id, "actor_name": entry.actor_name, "action": entry.action,
        "request_id": entry.request_id, "before": entry.before, "after": entry.after,
        "created_at": entry.created_at.isoformat(), "previous_hash": entry.previous_hash,
    }  # fmt: skip
    message = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(settings.AUDIT_HMAC_KEY.encode(), message, hashlib.sha256).hexdigest()


def _json_text(value: Recorded | None) -> str | None:
    """The value as the JSON text stored (decimals and UUIDs as text; an event's payload as pydantic
    writes it); parsed (:func:`_parsed`), what the entry holds and its hash covers, so the hash of what
    is stored is the hash recorded."""
    if value is None:
        return None
    return value.model_dump_json() if isinstance(value, BaseModel) else json.dumps(value, cls=_Encoder)


def _parsed(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


class _Encoder(DjangoJSONEncoder):
    """Django's JSON (dates, decimals, UUIDs), and pydantic models (event payloads) as their JSON."""

    def default(self, o: Any) -> Any:
        return o.model_dump(mode="json") if isinstance(o, BaseModel) else super().default(o)
