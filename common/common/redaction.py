"""What the logs must never hold: a customer's data, which reaches them through error texts and through what
libraries attach to their own lines. Our code logs ids and kinds; this covers the rest.

``describe_error`` names an exception without the data its text may carry; ``KeepPersonalDataOut``, a
filter of the log handler (``settings.LOGGING``), trims what libraries write of requests, events and tasks.
"""

from __future__ import annotations

import logging

from celery.worker.consumer.consumer import INVALID_TASK_ERROR, MESSAGE_DECODE_ERROR, UNKNOWN_FORMAT, UNKNOWN_TASK_ERROR
from django.db import DatabaseError
from django.http import HttpRequest
from pydantic import ValidationError


def describe_error(exc: BaseException) -> str:
    """The exception for a log line or a dead-letter reason: its kind, and what its text may say safely.

    A database error's text holds the row's values (``DETAIL: Failing row contains (...)``, ``Key
    (email)=(...)``): it is named by its SQLSTATE, table and constraint instead. A validation error
    keeps where and what, not the input. Other exceptions keep their text: ours are written without data.
    """
    kind = type(exc).__name__
    if isinstance(exc, DatabaseError):
        diag = getattr(exc.__cause__, "diag", None)
        where = [f"{name} {value}" for name, value in (
            ("sqlstate", getattr(diag, "sqlstate", None)),
            ("table", getattr(diag, "table_name", None)),
            ("constraint", getattr(diag, "constraint_name", None)),
        ) if value]  # fmt: skip
        return f"{kind} ({', '.join(where)})" if where else kind
    if isinstance(exc, ValidationError):
        return f"{kind}: " + "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()[:5])
    return f"{kind}: {exc}" if str(exc) else kind


_KAFKA_CLIENT = "kafka"
_TASK_ARGUMENTS = ("args", "kwargs")
# Celery's lines about a message its worker drops unread (undecodable, invalid, of an unknown task), and
# which of their arguments is the message's body (its first kilobyte): a batch of events, customers' data in it.
_DROPPED_MESSAGE_BODY = {
    MESSAGE_DECODE_ERROR: 4,
    INVALID_TASK_ERROR: 1,
    UNKNOWN_TASK_ERROR: 1,
    UNKNOWN_FORMAT: 0,
}
_BODY_LEFT_OUT = "(left out of the logs: a task's body holds customers' data)"


class KeepPersonalDataOut(logging.Filter):
    """Trims what libraries attach to their lines, which the JSON formatter would write out:

    - the Kafka client's DEBUG lines are dropped: they dump whole requests, events and their data included;
    - Django's request (on its 4xx and 5xx lines) becomes method and path: its query string can name an
      email (a customer search);
    - Celery's task arguments are dropped from its task lines, and the body from its lines about a message
      it drops unread: an event's envelope holds a customer's income.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO and (record.name == _KAFKA_CLIENT or record.name.startswith(f"{_KAFKA_CLIENT}.")):
            return False
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            record.request = f"{request.method} {request.path}"
        if record.name.startswith("celery."):
            _trim_celery_record(record)
        return True


def _trim_celery_record(record: logging.LogRecord) -> None:
    """Leave out what Celery attaches of a task: its arguments, or the body of a message it drops unread."""
    data = getattr(record, "data", None)
    if isinstance(data, dict):
        record.data = {key: value for key, value in data.items() if key not in _TASK_ARGUMENTS}
    body_at = _DROPPED_MESSAGE_BODY.get(record.msg) if isinstance(record.msg, str) else None
    if body_at is not None and isinstance(record.args, tuple) and len(record.args) > body_at:
        record.args = (*record.args[:body_at], _BODY_LEFT_OUT, *record.args[body_at + 1 :])
