"""Password operations get a longer gRPC deadline than lookups (gateway/crm_gateway/clients.py):
argon2id is slow by design, and a sign-in on a busy machine must not end in 503 after 5 s."""

from __future__ import annotations

from crm_gateway.clients import PASSWORD_DEADLINE, _deadline_for
from crm_platform.grpc_client import channel
from crm_proto.crm.identity.v1 import identity_pb2_grpc, user_admin_pb2_grpc


async def test_password_operations_wait_longer_than_lookups() -> None:
    from crm_gateway.clients import _method_name

    identity = identity_pb2_grpc.IdentityServiceStub(channel("127.0.0.1:9"))
    admin = user_admin_pb2_grpc.UserAdminServiceStub(channel("127.0.0.1:9"))
    for slow in (identity.ContinueLogin, identity.AuthorizeUser, identity.ChangeMyPassword, identity.CreateTenant,
                 admin.AcceptInvitation):
        assert _deadline_for(_method_name(slow), 5.0) == PASSWORD_DEADLINE > 5.0
    for quick in (identity.GetUser, identity.RefreshAccessToken, identity.IntrospectToken):
        assert _deadline_for(_method_name(quick), 5.0) == 5.0
    # A deployment that already allows more keeps it.
    assert _deadline_for(_method_name(identity.ContinueLogin), 60.0) == 60.0
