"""How a batch of events travels from the consumer to the queue workers: as a Celery message body of its own.

Celery's JSON body would carry each envelope as a JSON string inside the arguments' JSON, and kombu's
Redis transport writes that body as a JSON string again: every quote of every event escaped twice,
then unescaped twice by the worker. This body is one JSON line (the envelopes' lengths, the task's
keyword arguments and Celery's ``embed``), then the envelopes' texts one after another, as received:
kombu's transport escapes them once, and nothing else reads them until the worker validates each.

Only ``process_events`` uses it (its ``serializer``). A worker must accept ``CONTENT_TYPE``
(``CELERY_ACCEPT_CONTENT``) before any consumer sends it: deploy the workers first.
"""

from __future__ import annotations

import json
from typing import Any

from kombu.serialization import register
from pydantic import BaseModel

SERIALIZER = "event-batch"
CONTENT_TYPE = "application/x-event-batch"

# Celery's message body: (args, kwargs, embed); args is the task's one argument, the list of envelopes.
Body = tuple[list[Any], dict[str, Any], dict[str, Any]]


def encode(body: Body) -> str:
    """The body of ``process_events(envelopes)``: envelopes as their JSON text (a decoded one, as a retry
    may carry, is written out first)."""
    args, kwargs, embed = body
    (envelopes,) = args
    try:
        texts = "".join(envelopes)
    except TypeError:
        envelopes = [envelope if isinstance(envelope, str) else _json_text(envelope) for envelope in envelopes]
        texts = "".join(envelopes)
    head = json.dumps([[len(envelope) for envelope in envelopes], kwargs, embed], separators=(",", ":"))
    return f"{head}\n{texts}"


def decode(body: str | bytes) -> Body:
    """The arguments :func:`encode` wrote: each envelope as the text it was (validated by the task).

    A worker gets the body as the broker's bytes (kombu hands a decoder the data undecoded).
    """
    if not isinstance(body, str):
        body = bytes(body).decode("utf-8")
    head, _, texts = body.partition("\n")
    lengths, kwargs, embed = json.loads(head)
    envelopes = []
    start = 0
    for length in lengths:
        envelopes.append(texts[start : start + length])
        start += length
    if start != len(texts):
        raise ValueError(f"event batch body holds {len(texts)} characters of envelopes, its head says {start}")
    return [envelopes], kwargs, embed


def register_serializer() -> None:
    """Make the body known to kombu in this process (each process that sends or runs the task)."""
    register(SERIALIZER, encode, decode, content_type=CONTENT_TYPE, content_encoding="utf-8")


def _json_text(envelope: Any) -> str:
    if isinstance(envelope, BaseModel):  # a CloudEvent
        return envelope.model_dump_json()
    return json.dumps(envelope, separators=(",", ":"))
