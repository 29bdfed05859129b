"""The platform's one catalogue of error codes, and the error type every service raises.

Each code has one spelling (upper snake case, like the decisions' reason codes) and one HTTP
status, chosen by one rule:

- 400: the request could not be read at all;
- 401 / 403: no valid API key / the key lacks a scope;
- 404: what the request names does not exist;
- 409: a valid request that the current state of something refuses (an account that is not
  active, credit that is not enough, an email already taken, a request already open);
- 412: the ``If-Match`` version is not the current one;
- 422: the request is not valid whatever the state (a field's format, an amount not above zero,
  a missing reason);
- 429: too many requests from the key or the address (``Retry-After`` says when to try again);
- 500 / 503: nothing was changed (unexpected failure / a backing service is away).

The API answers ``{"code": ..., "detail": ..., "errors": [...]}`` and declares, per endpoint, the
codes it can return (``common.api.error_responses``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """An error code with its HTTP status and what it means (the default ``detail``)."""

    status: int
    meaning: str

    def __new__(cls, code: str, status: int, meaning: str) -> ErrorCode:
        member = str.__new__(cls, code)
        member._value_ = code
        member.status = status
        member.meaning = meaning
        return member

    # Any request
    MALFORMED_REQUEST = "MALFORMED_REQUEST", 400, "The request could not be read."
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED", 401, "A valid API key is required (Authorization: Bearer <key>)."
    INSUFFICIENT_SCOPE = "INSUFFICIENT_SCOPE", 403, "The API key lacks a scope this request needs."
    NOT_FOUND = "NOT_FOUND", 404, "Not found."
    VALIDATION_ERROR = "VALIDATION_ERROR", 422, "The request is not valid."
    RATE_LIMITED = "RATE_LIMITED", 429, "Too many requests; try again after the seconds in Retry-After."
    INTERNAL_ERROR = "INTERNAL_ERROR", 500, "The request failed unexpectedly; nothing was changed."
    SERVICE_UNAVAILABLE = (
        "SERVICE_UNAVAILABLE", 503, "A service this request needs is unavailable; nothing was changed. Try again shortly."
    )
    # API keys
    API_KEY_NAME_REQUIRED = "API_KEY_NAME_REQUIRED", 422, "An API key needs a name."
    API_KEY_SCOPES_INVALID = "API_KEY_SCOPES_INVALID", 422, "An API key needs one or more scopes this service knows."
    # Idempotency keys
    IDEMPOTENCY_KEY_REQUIRED = "IDEMPOTENCY_KEY_REQUIRED", 422, "This request needs an Idempotency-Key header."
    IDEMPOTENCY_KEY_INVALID = "IDEMPOTENCY_KEY_INVALID", 422, "The Idempotency-Key is not 1 to 255 printable ASCII characters."
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED", 409, "The Idempotency-Key was used with another request."
    # Customers (user_manager)
    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND", 404, "No customer with this id."
    VERSION_MISMATCH = "VERSION_MISMATCH", 412, "The customer changed since the version named in If-Match."
    EMAIL_TAKEN = "EMAIL_TAKEN", 409, "A customer with this email already exists."
    TAX_ID_TAKEN = "TAX_ID_TAKEN", 409, "A customer with this tax id already exists."
    CUSTOMER_CLOSED = "CUSTOMER_CLOSED", 409, "The customer is closed; a closed customer never changes again."
    CUSTOMER_NOT_BLOCKED = "CUSTOMER_NOT_BLOCKED", 409, "Only a blocked customer can be unblocked."
    CUSTOMER_ALREADY_BLOCKED = "CUSTOMER_ALREADY_BLOCKED", 409, "The customer is already blocked."
    # Credit accounts and the ledger (credit_manager)
    ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND", 404, "No credit account with this id."
    TRANSACTION_NOT_FOUND = "TRANSACTION_NOT_FOUND", 404, "No transaction with this id."
    ACCOUNT_NOT_ACTIVE = "ACCOUNT_NOT_ACTIVE", 409, "The account's status does not allow this."
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED", 409, "The account is closed."
    INSUFFICIENT_CREDIT = "INSUFFICIENT_CREDIT", 409, "Not enough credit is available."
    PAYMENT_EXCEEDS_BALANCE = "PAYMENT_EXCEEDS_BALANCE", 409, "The payment is more than the balance owed."
    REFUND_EXCEEDS_BALANCE = "REFUND_EXCEEDS_BALANCE", 409, "The refund is more than the balance owed."
    ADJUSTMENT_EXCEEDS_BALANCE = "ADJUSTMENT_EXCEEDS_BALANCE", 409, "The credit adjustment is more than the balance owed."
    REVERSAL_EXCEEDS_BALANCE = "REVERSAL_EXCEEDS_BALANCE", 409, "The reversal would take the balance below zero."
    ALREADY_REVERSED = "ALREADY_REVERSED", 409, "The transaction was already reversed."
    CANNOT_REVERSE_REVERSAL = "CANNOT_REVERSE_REVERSAL", 409, "A reversal cannot be reversed; post a new transaction."
    AMOUNT_NOT_POSITIVE = "AMOUNT_NOT_POSITIVE", 422, "The amount must be above zero."
    AMOUNT_TOO_PRECISE = "AMOUNT_TOO_PRECISE", 422, "An amount has at most two decimal places."
    AMOUNT_TOO_LARGE = "AMOUNT_TOO_LARGE", 422, "The amount is too large."
    REASON_REQUIRED = "REASON_REQUIRED", 422, "The operation needs a reason."
    # Credit analysis (credit_manager)
    LIMIT_REQUEST_NOT_FOUND = "LIMIT_REQUEST_NOT_FOUND", 404, "No limit request with this id."
    LIMIT_BELOW_BALANCE = "LIMIT_BELOW_BALANCE", 409, "The limit cannot be below the balance owed."
    LIMIT_UNCHANGED = "LIMIT_UNCHANGED", 409, "This is already the account's limit."
    LIMIT_REQUEST_OPEN = "LIMIT_REQUEST_OPEN", 409, "The account already has a limit request being decided."
    LIMIT_REQUEST_NOT_IN_REVIEW = "LIMIT_REQUEST_NOT_IN_REVIEW", 409, "The limit request is not in manual review."
    INVALID_POLICY = "INVALID_POLICY", 422, "The policy is not consistent."
    POLICY_VERSION_TAKEN = "POLICY_VERSION_TAKEN", 409, "Another policy version was published at the same time; try again."
    # Card authorizations (credit_manager)
    AUTHORIZATION_NOT_FOUND = "AUTHORIZATION_NOT_FOUND", 404, "No authorization with this id."
    AUTHORIZATION_FINAL = "AUTHORIZATION_FINAL", 409, "The authorization is in a final status; it cannot change."
    NETWORK_REFERENCE_REUSED = (
        "NETWORK_REFERENCE_REUSED", 409, "This network reference names another authorization request on the account."
    )
    CAPTURE_EXCEEDS_AUTHORIZATION = (
        "CAPTURE_EXCEEDS_AUTHORIZATION", 409, "The capture is more than the authorization allows, tolerance included."
    )
    REVERSAL_EXCEEDS_HOLD = "REVERSAL_EXCEEDS_HOLD", 409, "The reversal is more than the amount still held."
    INVALID_HOLD_RULE = "INVALID_HOLD_RULE", 422, "The hold rule is not valid."
    # The operators' API (both back offices, /staff/api/v1/)
    PERMISSION_DENIED = "PERMISSION_DENIED", 403, "The operator lacks a permission this action needs."
    CSRF_FAILED = "CSRF_FAILED", 403, "The request lacks the CSRF token of the operator's session (X-CSRFToken)."
    # Dead letters (both back offices)
    DEAD_LETTER_RESOLVED = "DEAD_LETTER_RESOLVED", 409, "The dead letter was replayed or discarded already."
    DEAD_LETTER_NOT_REPLAYABLE = "DEAD_LETTER_NOT_REPLAYABLE", 409, "The dead letter cannot be replayed here; discard it."
    # Four eyes: requests one operator makes and a second one approves (credit_manager's back office)
    APPROVAL_NOT_FOUND = "APPROVAL_NOT_FOUND", 404, "No approval request with this id."
    APPROVAL_NOT_PENDING = "APPROVAL_NOT_PENDING", 409, "The request was already decided, cancelled, or ended."
    CHECKER_IS_MAKER = "CHECKER_IS_MAKER", 409, "The operator who asked cannot approve or reject the request: a second one must."
    NOT_THE_MAKER = "NOT_THE_MAKER", 409, "Only the operator who asked can cancel the request."
    APPROVAL_EXPIRED = "APPROVAL_EXPIRED", 409, "The request expired before it was approved; ask again."
    APPROVAL_STALE = "APPROVAL_STALE", 409, "What the request was asked on has changed; ask again on the new facts."
    APPROVAL_TAMPERED = "APPROVAL_TAMPERED", 409, "The request's content no longer matches what was asked; it is not executed."


class DomainError(Exception):
    """A rule of the business refused the operation: a catalogue ``code`` and a ``detail`` for humans."""

    def __init__(self, code: ErrorCode, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None) -> None:
        self.code = code
        self.detail = detail or code.meaning
        self.errors = errors or []
        super().__init__(self.detail)

    @property
    def status(self) -> int:
        return self.code.status

    def body(self) -> dict[str, Any]:
        """The API's error shape: ``code``, ``detail``, and ``errors`` (one per field) when any."""
        body: dict[str, Any] = {"code": str(self.code), "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return body
