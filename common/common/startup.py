"""What a long-running process does once it is ready to work: an API worker, a queue worker, a consumer
or a relay."""

from __future__ import annotations

import gc


def freeze_startup_objects(*, load_urls: bool = False) -> None:
    """Keep the garbage collector off what the process built while starting.

    Modules, settings, models, URL patterns and schemas live as long as the process, yet every full
    collection walked all of them again: about 50 µs of CPU per purchase in the API, a twentieth of
    its Python time. Frozen (``gc.freeze``), they stay out of its sight; what the work creates is
    collected as before. ``load_urls``: build the URL patterns (and the API's schemas) first, so they
    are among the frozen rather than built by the first request.
    """
    if load_urls:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 - building them is the point
    gc.freeze()
