"""/v1/teams: the team tree with managers (identity's teams/; docs/access.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    ItemList,
    Name,
    RequestBody,
    Resource,
    expected_version,
    operation,
    timestamp,
)
from crm_gateway.problems import etag
from crm_platform.auth import Scope
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(prefix="/v1/teams", tags=["teams"])
TeamId = Path(description="The team's id", max_length=100)


class Team(Resource):
    id: str
    name: str
    parent_id: str | None = Field(description="The team above; null for a top-level team")
    manager_id: str | None = Field(description="The user who manages the team")
    member_count: int
    version: int
    created_at: datetime | None
    updated_at: datetime | None


def team_out(m: pb.Team) -> Team:
    return Team(
        id=m.id, name=m.name, parent_id=m.parent_id or None, manager_id=m.manager_id or None,
        member_count=m.member_count, version=m.version, created_at=timestamp(m.created_at),
        updated_at=timestamp(m.updated_at),
    )


class TeamCreate(RequestBody):
    name: Name = Field(max_length=100, examples=["East China sales"])
    parent_id: str | None = Field(None, max_length=100)
    manager_id: str | None = Field(None, max_length=100)


class TeamPatch(RequestBody):
    name: Name | None = Field(None, max_length=100)
    parent_id: str | None = Field(None, max_length=100, description="null moves the team to the top")
    manager_id: str | None = Field(None, max_length=100, description="null removes the manager")


def _single(response: Response, message: pb.Team) -> Team:
    response.headers["ETag"] = etag(message.version)
    return team_out(message)


@router.get(
    "",
    response_model=ItemList[Team],
    **operation(operation_id="listTeams", summary="List teams (the whole tree)", scopes=[Scope.USERS_MANAGE]),
)
async def list_teams(caller: CallerDep, services: BackendsDep) -> ItemList[Team]:
    reply = await caller.call(services.identity.ListTeams, pb.ListTeamsRequest())
    return ItemList[Team](items=[team_out(t) for t in reply.items])


@router.post(
    "",
    response_model=Team,
    **operation(operation_id="createTeam", summary="Create a team", scopes=[Scope.USERS_MANAGE],
                errors=[*WRITE_ERRORS], status_code=201),
)
async def create_team(body: TeamCreate, response: Response, caller: CallerDep, services: BackendsDep) -> Team:
    reply = await caller.call(
        services.identity.CreateTeam,
        pb.CreateTeamRequest(name=body.name, parent_id=body.parent_id or "", manager_id=body.manager_id or ""),
    )
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return _single(response, reply)


@router.get(
    "/{team_id}",
    response_model=Team,
    **operation(operation_id="getTeam", summary="Get a team", scopes=[Scope.USERS_MANAGE], errors=[404]),
)
async def get_team(team_id: Annotated[str, TeamId], response: Response, caller: CallerDep,
                   services: BackendsDep) -> Team:
    return _single(response, await caller.call(services.identity.GetTeam, pb.GetTeamRequest(id=team_id)))


@router.patch(
    "/{team_id}",
    response_model=Team,
    **operation(operation_id="updateTeam", summary="Rename, move or change a team's manager",
                scopes=[Scope.USERS_MANAGE], errors=[*WRITE_ERRORS, 404, 412],
                description="A team cannot move below itself (400 `team_cycle`). `If-Match` is optional."),
)
async def update_team(
    team_id: Annotated[str, TeamId], body: TeamPatch, response: Response, caller: CallerDep, services: BackendsDep,
    if_match: Annotated[str | None, Header(description="Optional ETag of the version you read")] = None,
) -> Team:
    sent = body.model_dump(exclude_unset=True)
    if "name" in sent and sent["name"] is None:
        sent.pop("name")
    request = pb.UpdateTeamRequest(id=team_id, update_mask=list(sent),
                                   expected_version=expected_version(if_match) if if_match else 0)
    for name, value in sent.items():
        setattr(request, name, value or "")
    return _single(response, await caller.call(services.identity.UpdateTeam, request))


@router.delete(
    "/{team_id}",
    response_model=Team,
    **operation(operation_id="deleteTeam", summary="Delete an empty team", scopes=[Scope.USERS_MANAGE],
                errors=[404, 409], description="Refused (409 `team_not_empty`) while it has sub-teams or members."),
)
async def delete_team(team_id: Annotated[str, TeamId], caller: CallerDep, services: BackendsDep) -> Team:
    return team_out(await caller.call(services.identity.DeleteTeam, pb.DeleteTeamRequest(id=team_id)))
