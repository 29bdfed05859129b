"""Keys this API process accepted a moment ago: most requests then need no Redis round trip for their key.

An entry is trusted at most ``API_KEY_LOCAL_CACHE_SECONDS``; a revocation drops it in every process
sooner (``common.process_memory``). Only accepted keys are kept, and never more than a few, so random
keys cannot fill the memory.
"""

from __future__ import annotations

from django.conf import settings

from common.apikeys.caller import Caller
from common.process_memory import ProcessMemory

accepted_keys: ProcessMemory[Caller] = ProcessMemory(
    "apikey", seconds=lambda: settings.API_KEY_LOCAL_CACHE_SECONDS, max_entries=256
)
