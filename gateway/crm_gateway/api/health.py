"""Probes: /healthz (the process answers) and /readyz (identity, the door to every token, answers)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from crm_gateway.api.common import BackendsDep, error_responses
from crm_gateway.problems import Problem

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


@router.get("/healthz", response_model=Health, operation_id="healthz", summary="Liveness: the process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz", response_model=Health, operation_id="readyz", summary="Readiness: identity is reachable",
    responses=error_responses([503]),
)
async def readyz(services: BackendsDep) -> Health:
    if not await services.identity_ready():
        raise Problem(503, "unavailable", headers={"Retry-After": "1"})
    return Health(status="ready")
