"""The ``Idempotency-Key`` header of a django-ninja endpoint: read by the view, declared in the OpenAPI schema.

The view reads the header with :data:`IdempotencyKeyHeader`, hidden from the schema, so that the
service checks it and its refusals keep their codes (``IDEMPOTENCY_KEY_REQUIRED``,
``IDEMPOTENCY_KEY_INVALID``); the endpoint declares it with :func:`idempotency_key_parameter`, which
states the rules the service checks.
"""

from typing import Any

from ninja import Header

from common.idempotency.services import KEY_HEADER, MAX_KEY_LENGTH

DESCRIPTION = (
    f"Up to {MAX_KEY_LENGTH} printable ASCII characters. A retry with the same key and body gets the first "
    "response again (header Idempotent-Replayed: true); the same key with another body gets 409 IDEMPOTENCY_KEY_REUSED."
)

IdempotencyKeyHeader = Header(None, alias=KEY_HEADER, include_in_schema=False)


def idempotency_key_parameter(*, required: bool) -> dict[str, Any]:
    """The header as the OpenAPI schema declares it (for ``openapi_extra={"parameters": [...]}``)."""
    return {
        "in": "header",
        "name": KEY_HEADER,
        "required": required,
        "description": DESCRIPTION,
        # An empty key counts as none: refused where a key is required, ignored where it is not.
        "schema": {
            "type": "string",
            "maxLength": MAX_KEY_LENGTH,
            "pattern": "^[\\x20-\\x7e]+$" if required else "^[\\x20-\\x7e]*$",
        },
    }
