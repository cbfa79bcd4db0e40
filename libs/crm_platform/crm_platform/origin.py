"""Where a request came from (client ip and user agent), the one way every service reads it.

The gateway sends `x-forwarded-for` (the proxy chain plus its own peer) and `x-client-user-agent`
(gRPC replaces `user-agent` with its own) on every call (`crm_gateway.clients.request_origin`).
`EdgeInterceptor` reads them once per call into a context variable; audit writers (identity's
audit log, customers' reveal audit and its `customer.revealed` event) take them from `current_origin`."""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

FORWARDED_FOR: Final = "x-forwarded-for"
CLIENT_USER_AGENT: Final = "x-client-user-agent"
MAX_LENGTH: Final = 512


@dataclass(frozen=True)
class Origin:
    ip: str = ""
    user_agent: str = ""


_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar("crm_request_origin", default=None)


def origin_from_metadata(metadata: Mapping[str, str]) -> Origin:
    """The origin carried by gRPC metadata (already a str -> str mapping)."""
    return Origin(ip=str(metadata.get(FORWARDED_FOR, ""))[:MAX_LENGTH],
                  user_agent=str(metadata.get(CLIENT_USER_AGENT, ""))[:MAX_LENGTH])


def set_origin(origin: Origin) -> None:
    _origin.set(origin)


def current_origin() -> Origin:
    """The origin of the call being handled (empty outside a call, e.g. in an event handler)."""
    return _origin.get() or Origin()
