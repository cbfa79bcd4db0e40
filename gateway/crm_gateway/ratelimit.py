"""Token buckets per API client and per tenant, kept in this process's memory.

Each /v1 request with a valid token takes one token from its client's bucket and one from its
tenant's (both or neither: a refused request costs nothing). Buckets refill continuously at `rate`
tokens per second up to `burst`. Limits hold per gateway replica: with N replicas a client can
reach N times the figures (docs/api.md says so). A full bucket is the same as no bucket, so idle
ones are dropped to keep memory bounded by the callers active in the last minute or so.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from crm_platform.auth import Principal

SWEEP_INTERVAL: Final = 60.0


@dataclass(frozen=True)
class BucketPolicy:
    rate: float  # tokens added per second
    burst: int  # bucket size: requests allowed at once after a quiet period


@dataclass
class TokenBucket:
    policy: BucketPolicy
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.policy.burst), self.tokens + elapsed * self.policy.rate)
        self.updated = now

    def seconds_until(self, tokens: float) -> float:
        """Time until the bucket holds `tokens` (after `refill`)."""
        return max(0.0, (tokens - self.tokens) / self.policy.rate)

    @property
    def full(self) -> bool:
        return self.tokens >= self.policy.burst


@dataclass(frozen=True)
class RateLimitDecision:
    """The verdict and the figures of the tighter bucket (fewer tokens left), for the headers."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until that bucket is full again
    retry_after: int  # when refused: until both buckets hold a token again

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


BucketKey = tuple[str, ...]


class RateLimiter:
    def __init__(self, client: BucketPolicy, tenant: BucketPolicy, clock: Callable[[], float] = time.monotonic):
        self.client_policy = client
        self.tenant_policy = tenant
        self.clock = clock
        self.buckets: dict[BucketKey, TokenBucket] = {}
        self.last_sweep = clock()

    @staticmethod
    def client_key(principal: Principal) -> BucketKey:
        # A user's token is that user's (many people sign in through one OAuth client); a client
        # credentials token's subject is the client itself.
        return ("client", str(principal.tenant_id), principal.client_id, principal.subject)

    @staticmethod
    def tenant_key(tenant_id: uuid.UUID) -> BucketKey:
        return ("tenant", str(tenant_id))

    def charge(self, principal: Principal) -> RateLimitDecision:
        now = self.clock()
        self._sweep(now)
        client = self._bucket(self.client_key(principal), self.client_policy, now)
        tenant = self._bucket(self.tenant_key(principal.tenant_id), self.tenant_policy, now)
        allowed = client.tokens >= 1 and tenant.tokens >= 1
        if allowed:
            client.tokens -= 1
            tenant.tokens -= 1
        # Ties go to the smaller bucket: its figures are the ones the caller will meet first.
        tighter = min((client, tenant), key=lambda b: (math.floor(b.tokens), b.policy.burst))
        retry_after = max(client.seconds_until(1), tenant.seconds_until(1))
        return RateLimitDecision(
            allowed=allowed,
            limit=tighter.policy.burst,
            remaining=max(0, math.floor(tighter.tokens)),
            reset_seconds=math.ceil(tighter.seconds_until(tighter.policy.burst)),
            retry_after=max(1, math.ceil(retry_after)),
        )

    def _bucket(self, key: BucketKey, policy: BucketPolicy, now: float) -> TokenBucket:
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = TokenBucket(policy, float(policy.burst), now)
        else:
            bucket.refill(now)
        return bucket

    def _sweep(self, now: float) -> None:
        if now - self.last_sweep < SWEEP_INTERVAL:
            return
        self.last_sweep = now
        for key, bucket in list(self.buckets.items()):
            bucket.refill(now)
            if bucket.full:
                del self.buckets[key]
