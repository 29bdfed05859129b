"""Where a request comes from, as far as we can trust it: what the admin login's lockouts and the API's
rate limits count per address."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The client's address as the outermost of our ``TRUSTED_PROXY_COUNT`` proxies saw it.

    Behind proxies the peer (``REMOTE_ADDR``) is the nearest proxy, the same for every operator. Each proxy
    appends the address it was reached from to X-Forwarded-For, so ours are the last entries; whatever stands
    left of them the client wrote itself and could change at will to dodge a lockout.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if proxies and forwarded:
        candidate = forwarded[max(len(forwarded) - proxies, 0)]
        if _is_address(candidate):
            return candidate
    return request.META.get("REMOTE_ADDR")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
