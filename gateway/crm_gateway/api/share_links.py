"""/v1/share-links: read-only, expiring, revocable links to a dashboard (reporting's
ReportDeliveryService; docs/reporting.md, "Share links"). The public page is web/share.py."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from crm_gateway.api.common import WRITE_ERRORS, BackendsDep, CallerDep, RequestBody, operation
from crm_gateway.api.dashboards import segment_definition, view_filters
from crm_gateway.api.saved_reports import report_audience
from crm_gateway.clients import Backends, Caller
from crm_platform.auth import Scope
from crm_proto.crm.reporting.v1 import delivery_pb2 as pb

router = APIRouter(tags=["share-links"])

TARGET_DOC = ("What the link shows: a dashboard's `panels` (catalogue ids, plus `funnel`) with the "
              "page's `object` and `range` (`range_from`/`range_to` for custom)")


class ShareTarget(RequestBody):
    kind: Literal["dashboard", "report"] = "dashboard"
    id: str = Field("", max_length=40, description="The saved report's id (kind report)")
    panels: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=12)
    object: str = Field("all", max_length=60,
                        description="`all`, `tag:<id>`, `view:<id>` or `segment:<id>` (read as you now)")
    range: str = Field("12m", max_length=10, description="`3m`, `12m`, `ytd` or `custom`")
    range_from: str = Field("", max_length=10, description="YYYY-MM-DD (custom)")
    range_to: str = Field("", max_length=10, description="YYYY-MM-DD (custom)")


class TargetOut(BaseModel):
    kind: str
    id: str
    panels: list[str]
    object: str
    range: str
    range_from: str
    range_to: str


class ShareLinkCreate(RequestBody):
    target: ShareTarget
    title: str = Field("", max_length=200)
    expires_in_days: int = Field(7, ge=1, le=90, description="Default 7, at most 90")
    password: str = Field("", max_length=200, description="Optional; at least 8 characters (argon2id-hashed)")


class ShareLink(BaseModel):
    id: str
    target: TargetOut
    title: str
    created_by: str
    created_at: str
    expires_at: str
    revoked_at: str = Field(description="RFC 3339, '' while not revoked")
    password_protected: bool
    state: Literal["active", "expired", "revoked"]
    views: int
    last_viewed_at: str
    data_scope: str = Field(description="The sharer's data scope, frozen at creation")
    personal_fields_masked: bool


class CreatedShareLink(ShareLink):
    token: str = Field(description="The secret part of the URL; shown only now")
    url: str = Field(description="The public page: /s/<token>")


class ShareLinkList(BaseModel):
    items: list[ShareLink]


class ShareSettings(BaseModel):
    allow_personal_fields: bool = Field(description="Share links show customer names (default: masked)")
    version: int


class ShareSettingsPatch(RequestBody):
    allow_personal_fields: bool


def target_message(target: ShareTarget) -> pb.DeliveryTarget:
    return pb.DeliveryTarget(kind=target.kind, id=target.id, panels=target.panels, object=target.object,
                             range=target.range, range_from=target.range_from, range_to=target.range_to)


async def delivery_target(caller: Caller, services: Backends, message: pb.DeliveryTarget) -> pb.DeliveryTarget:
    """The target with what the creator sees now, read with their token: a saved report's view
    filters and segment (kind report), else the object's view filters or segment; reporting keeps
    them with the link or subscription (docs/reporting.md, "Segments as the object")."""
    if message.kind == "report":
        try:
            uuid.UUID(message.id)
        except ValueError:
            return message  # reporting answers 400 on target.id
        _, filters, segment = await report_audience(caller, services, message.id)
    else:
        filters = await view_filters(caller, services, message.object)
        segment = await segment_definition(caller, services, message.object)
    message.view_filters.update(filters)
    if segment is not None:
        message.segment_definition.CopyFrom(segment)
    return message


def link_out(link: pb.ShareLink) -> dict[str, object]:
    t = link.target
    return {
        "id": link.id, "title": link.title, "created_by": link.created_by, "created_at": link.created_at,
        "expires_at": link.expires_at, "revoked_at": link.revoked_at, "password_protected": link.password_protected,
        "state": link.state, "views": link.views, "last_viewed_at": link.last_viewed_at,
        "data_scope": link.data_scope, "personal_fields_masked": link.personal_fields_masked,
        "target": {"kind": t.kind, "id": t.id, "panels": list(t.panels), "object": t.object, "range": t.range,
                   "range_from": t.range_from, "range_to": t.range_to},
    }


@router.post(
    "/v1/share-links",
    response_model=CreatedShareLink,
    **operation(operation_id="createShareLink", summary="Share a dashboard by a read-only link",
                scopes=[Scope.REPORTS_READ], errors=[*WRITE_ERRORS, 404], status_code=201,
                description="404 when `target` names a saved report you cannot read. "
                            "The link shows what you can see now (your data scope and field policies are "
                            "frozen into it), personal fields masked unless the tenant allows them. The token "
                            "is returned once. 400 on `expires_in_days` (`out_of_range`), `password` "
                            "(`too_short`), `target.panels` (`unknown_panel`, `required`). " + TARGET_DOC),
)
async def create_share_link(body: ShareLinkCreate, request: Request, response: Response, caller: CallerDep,
                            services: BackendsDep) -> CreatedShareLink:
    target = body.target
    reply = await caller.call(services.delivery.CreateShareLink, pb.CreateShareLinkRequest(
        target=await delivery_target(caller, services, target_message(target)),
        title=body.title, expires_in_days=body.expires_in_days, password=body.password))
    response.headers["Location"] = f"/v1/share-links/{reply.link.id}"
    public = request.app.state.settings.public_url
    return CreatedShareLink.model_validate({**link_out(reply.link), "token": reply.token,
                                            "url": f"{public}/s/{reply.token}"})


@router.get(
    "/v1/share-links",
    response_model=ShareLinkList,
    **operation(operation_id="listShareLinks", summary="Your share links (every link with reports:manage)",
                scopes=[Scope.REPORTS_READ]),
)
async def list_share_links(
    caller: CallerDep, services: BackendsDep,
    state: Annotated[Literal["", "active"], Query(description="`active`: neither expired nor revoked")] = "",
) -> ShareLinkList:
    reply = await caller.call(services.delivery.ListShareLinks, pb.ListShareLinksRequest(state=state))
    return ShareLinkList.model_validate({"items": [link_out(i) for i in reply.items]})


@router.get(
    "/v1/share-links/{link_id}",
    response_model=ShareLink,
    **operation(operation_id="getShareLink", summary="One share link", scopes=[Scope.REPORTS_READ], errors=[404]),
)
async def get_share_link(link_id: Annotated[str, Path(max_length=40)], caller: CallerDep,
                         services: BackendsDep) -> ShareLink:
    reply = await caller.call(services.delivery.GetShareLink, pb.ShareLinkIdRequest(id=link_id))
    return ShareLink.model_validate(link_out(reply))


@router.post(
    "/v1/share-links/{link_id}:revoke",
    response_model=ShareLink,
    **operation(operation_id="revokeShareLink", summary="Revoke a share link at once",
                scopes=[Scope.REPORTS_READ], errors=[*WRITE_ERRORS, 404],
                description="Yours, or any with reports:manage; the page then answers 410. Revoking again "
                            "changes nothing."),
)
async def revoke_share_link(link_id: Annotated[str, Path(max_length=40)], caller: CallerDep,
                            services: BackendsDep) -> ShareLink:
    reply = await caller.call(services.delivery.RevokeShareLink, pb.ShareLinkIdRequest(id=link_id))
    return ShareLink.model_validate(link_out(reply))


@router.get(
    "/v1/share-link-settings",
    response_model=ShareSettings,
    **operation(operation_id="getShareLinkSettings", summary="Whether share links show personal fields",
                scopes=[Scope.REPORTS_READ]),
)
async def get_share_settings(caller: CallerDep, services: BackendsDep) -> ShareSettings:
    reply = await caller.call(services.delivery.GetShareSettings, pb.GetShareSettingsRequest())
    return ShareSettings(allow_personal_fields=reply.allow_personal_fields, version=reply.version)


@router.patch(
    "/v1/share-link-settings",
    response_model=ShareSettings,
    **operation(operation_id="updateShareLinkSettings", summary="Allow or mask personal fields on new share links",
                scopes=[Scope.REPORTS_READ, Scope.REPORTS_MANAGE], errors=[*WRITE_ERRORS],
                description="Applies to links made from now on; each link keeps what it was made with."),
)
async def update_share_settings(body: ShareSettingsPatch, caller: CallerDep, services: BackendsDep) -> ShareSettings:
    reply = await caller.call(services.delivery.UpdateShareSettings,
                              pb.ShareSettings(allow_personal_fields=body.allow_personal_fields))
    return ShareSettings(allow_personal_fields=reply.allow_personal_fields, version=reply.version)
