"""One error tree with stable machine-readable codes, mapped once to HTTP problem+json.

    CroceviaError
    ├── ValidationFailed      400  a field is wrong (``field`` names it)
    ├── AuthenticationFailed  401  no or bad credentials
    ├── SignatureInvalid      401  a provider webhook's signature does not verify
    ├── PermissionDenied      403  authenticated but not allowed
    ├── NotFound              404  absent, or in another workspace (never says which)
    ├── Conflict              409  duplicate or state clash
    ├── PolicyViolation       422  a platform or business rule forbids it (``rule`` names it)
    └── ProviderError              a channel's send API failed; ``retryable`` decides retry vs fail
"""

from __future__ import annotations

from typing import Any


class CroceviaError(Exception):
    status = 400
    code = "error"
    title = "Error"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    def to_problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://crocevia.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class ValidationFailed(CroceviaError):
    status = 400
    code = "validation_failed"
    title = "Invalid input"


class PayloadTooLarge(CroceviaError):
    status = 413
    code = "payload_too_large"
    title = "Request body too large"


class AuthenticationFailed(CroceviaError):
    status = 401
    code = "authentication_failed"
    title = "Not authenticated"


class SignatureInvalid(CroceviaError):
    status = 401
    code = "signature_invalid"
    title = "Webhook signature invalid"


class PermissionDenied(CroceviaError):
    status = 403
    code = "permission_denied"
    title = "Forbidden"


class NotFound(CroceviaError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(CroceviaError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PolicyViolation(CroceviaError):
    status = 422
    code = "policy_violation"
    title = "Not allowed by policy"

    def __init__(self, detail: str, *, rule: str, **extra: Any) -> None:
        super().__init__(detail, rule=rule, **extra)
        self.rule = rule


class ProviderError(CroceviaError):
    """A provider's API refused or failed a call.

    ``retryable`` is True for rate limits, 5xx and timeouts; ``retry_after`` carries the
    provider's Retry-After (seconds) when it sent one.
    """

    status = 502
    code = "provider_error"
    title = "Provider error"

    def __init__(
        self,
        detail: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        provider_code: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.retryable = retryable
        self.retry_after = retry_after
        self.provider_code = provider_code
