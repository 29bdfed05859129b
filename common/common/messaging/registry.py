"""Event handlers, registered by event type next to the domain they serve (``<app>/event_handlers.py``).

A handler that applies an aggregate's state declares how its events are versioned
(``versioned=Versioned("customer")``) and gets "newest version wins" from the inbox: older events
are recorded as stale and never reach it, so it keeps no ordering bookkeeping of its own.
"""

from __future__ import annotations

from collections.abc import Callable

from common.events import CloudEvent
from common.inbox.services import Versioned

EventHandler = Callable[[CloudEvent], None]

_handlers: dict[str, EventHandler] = {}
_versioning: dict[str, Versioned] = {}


class EventNotReady(Exception):
    """The event cannot apply yet (what it needs has not arrived): it is parked and tried again later,
    never dead-lettered for being early."""


def event_handler(*event_types: str, versioned: Versioned | None = None) -> Callable[[EventHandler], EventHandler]:
    """Register the function that applies ``event_types`` in this service (one handler per type)."""

    def register(func: EventHandler) -> EventHandler:
        for event_type in event_types:
            existing = _handlers.get(event_type)
            if existing is not None and existing is not func:
                raise RuntimeError(f"{event_type} already handled by {existing.__module__}.{existing.__name__}")
            _handlers[event_type] = func
            if versioned is not None:
                _versioning[event_type] = versioned
        return func

    return register


def handler_for(event_type: str) -> EventHandler | None:
    return _handlers.get(event_type)


def versioning_of(event_type: str) -> Versioned | None:
    return _versioning.get(event_type)
