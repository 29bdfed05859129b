"""Event handlers, registered by event type next to the domain they serve (``<app>/consumers.py``)."""

from __future__ import annotations

from collections.abc import Callable

from common.events import CloudEvent

EventHandler = Callable[[CloudEvent], None]

_handlers: dict[str, EventHandler] = {}


def event_handler(event_type: str) -> Callable[[EventHandler], EventHandler]:
    """Register the function that applies ``event_type`` in this service (one handler per type)."""

    def register(func: EventHandler) -> EventHandler:
        existing = _handlers.get(event_type)
        if existing is not None and existing is not func:
            raise RuntimeError(f"{event_type} already handled by {existing.__module__}.{existing.__name__}")
        _handlers[event_type] = func
        return func

    return register


def handler_for(event_type: str) -> EventHandler | None:
    return _handlers.get(event_type)


def handled_types() -> frozenset[str]:
    return frozenset(_handlers)
