"""Whether FastAPI's built-in OpenTelemetry instrumentation runs.

FastAPI checks the global OpenTelemetry providers on every request to decide whether to
instrument it (a few percent of the CPU of a webhook). The hub configures no provider of its
own, so unless the operator asks for OpenTelemetry (any ``OTEL_*`` variable, as
``opentelemetry-instrument`` and the SDK read, or ``FASTAPI_OTEL_AUTO_CONFIGURE``), the check
is switched off once, at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from fastapi.telemetry import TelemetryConfig


def telemetry_config(environ: Mapping[str, str] | None = None) -> TelemetryConfig | None:
    env = os.environ if environ is None else environ
    if any(k.startswith("OTEL_") for k in env) or env.get("FASTAPI_OTEL_AUTO_CONFIGURE"):
        return None  # FastAPI's defaults: instrument when a provider is configured
    return {"tracing": False, "metrics": False, "logs": False}
