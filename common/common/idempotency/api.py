"""The ``Idempotency-Key`` header as a django-ninja parameter (so it shows in the OpenAPI schema)."""

from ninja import Header

from common.idempotency.services import KEY_HEADER, MAX_KEY_LENGTH

IdempotencyKeyHeader = Header(
    None,
    alias=KEY_HEADER,
    description=f"Up to {MAX_KEY_LENGTH} printable ASCII characters. A retry with the same key and body gets the first "
    "response again (header Idempotent-Replayed: true); the same key with another body gets 409 IDEMPOTENCY_KEY_REUSED.",
)
