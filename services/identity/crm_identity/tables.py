"""Identity's tables (Core). Control tables are service-wide; `users` lives in each tenant schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import CONTROL, TENANT, new_metadata

metadata = new_metadata()

tenant_directory = sa.Table(
    "tenant_directory",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("slug", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("default_locale", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    # IANA name (migration i0003); sign-up picks Asia/Shanghai for zh-CN, UTC otherwise.
    sa.Column("time_zone", sa.Text, nullable=False, server_default="UTC"),
    schema=CONTROL,
)

oauth_clients = sa.Table(
    "oauth_clients",
    metadata,
    sa.Column("client_id", sa.Text, primary_key=True),
    sa.Column("tenant_id", pg.UUID(as_uuid=True)),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("secret_hash", sa.Text),
    sa.Column("grant_types", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("redirect_uris", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("scopes", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("secret_rotated_at", sa.DateTime(timezone=True)),
    schema=CONTROL,
)

authorization_codes = sa.Table(
    "authorization_codes",
    metadata,
    sa.Column("code_hash", sa.Text, primary_key=True),
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("code_challenge", sa.Text, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    # What the first exchange issued, so a second redemption can revoke it (RFC 6749 §4.1.2; i0035):
    # the refresh-token family and the access token's jti and expiry.
    sa.Column("family_id", pg.UUID(as_uuid=True)),
    sa.Column("access_jti", sa.Text),
    sa.Column("access_expires_at", sa.DateTime(timezone=True)),
    # Set by a second redemption: a first exchange still in flight then refuses to hand out tokens.
    sa.Column("reused_at", sa.DateTime(timezone=True)),
    schema=CONTROL,
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.Text, primary_key=True),
    sa.Column("private_jwk_encrypted", sa.LargeBinary, nullable=False),
    sa.Column("public_jwk", pg.JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("retired_at", sa.DateTime(timezone=True)),
    # When the key starts signing (NULL: when it was made); published in the JWKS before that (i0037).
    sa.Column("activates_at", sa.DateTime(timezone=True)),
    schema=CONTROL,
)

# A refresh-token family: everything descended from one authorization (one code exchange).
refresh_families = sa.Table(
    "refresh_families",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_reason", sa.Text),
    schema=CONTROL,
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.Text, primary_key=True),
    sa.Column("family_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    schema=CONTROL,
)

# Access tokens revoked before their expiry (RFC 7009); consulted by introspection.
revoked_access_tokens = sa.Table(
    "revoked_access_tokens",
    metadata,
    sa.Column("jti", sa.Text, primary_key=True),
    sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=CONTROL,
)

# A signed-in user waiting on the consent screen: what the code will be bound to once allowed.
consent_tickets = sa.Table(
    "consent_tickets",
    metadata,
    sa.Column("ticket_hash", sa.Text, primary_key=True),
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("code_challenge", sa.Text, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    schema=CONTROL,
)

# Scopes a user has approved for a third-party client (asked once).
oauth_consents = sa.Table(
    "oauth_consents",
    metadata,
    sa.Column("tenant_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("user_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("client_id", sa.Text, primary_key=True),
    sa.Column("scopes", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("granted_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=CONTROL,
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("roles", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    # user security (it0002): first-login change, TOTP (secrets sealed under the master key).
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("password_changed_at", sa.DateTime(timezone=True)),
    sa.Column("totp_secret_sealed", sa.LargeBinary),
    sa.Column("totp_pending_sealed", sa.LargeBinary),
    sa.Column("totp_enabled_at", sa.DateTime(timezone=True)),
    sa.Column("totp_last_step", sa.BigInteger),
    # roles and teams (it0003)
    sa.Column("team_id", pg.UUID(as_uuid=True)),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    # invitations (it0006): `invited` until the invitee sets a password on the accept page.
    sa.Column("status", sa.Text, nullable=False, server_default="active"),
    # preferences (it0060): "" means the tenant's default language / time zone.
    sa.Column("locale", sa.Text, nullable=False, server_default=""),
    sa.Column("time_zone", sa.Text, nullable=False, server_default=""),
    schema=TENANT,
)


# -- user security (tenant schema, it0002) ---------------------------------------------------------

# One row (id = 1): the tenant's password policy and MFA requirement.
security_policy = sa.Table(
    "security_policy",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True),
    sa.Column("min_length", sa.Integer, nullable=False),
    sa.Column("reject_common_passwords", sa.Boolean, nullable=False),
    sa.Column("mfa_required_for_admins", sa.Boolean, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)

# Consecutive failed sign-ins per email (known or not, so a lockout reveals nothing).
login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("email", sa.Text, primary_key=True),
    sa.Column("failed_count", sa.Integer, nullable=False),
    sa.Column("lockout_count", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
    sa.Column("last_failure_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

# A sign-in past the password, waiting for its remaining steps; the ticket is stored hashed.
login_transactions = sa.Table(
    "login_transactions",
    metadata,
    sa.Column("ticket_hash", sa.Text, primary_key=True),
    sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("code_challenge", sa.Text, nullable=False),
    sa.Column("steps", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    schema=TENANT,
)

recovery_codes = sa.Table(
    "recovery_codes",
    metadata,
    sa.Column("user_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("code_hash", sa.Text, primary_key=True),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

# (it0002's `security_events` was dropped by it0005: sign-in security events go to `audit_events`.)

# Sign-in sessions (it0005): one row per refresh-token family (control.refresh_families, same id),
# written with the family; what the user sees on the account security page.
sign_in_sessions = sa.Table(
    "sign_in_sessions",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ip", sa.Text, nullable=False),
    sa.Column("user_agent", sa.Text, nullable=False),
    schema=TENANT,
)


# -- roles and teams (tenant schema, it0003) ---------------------------------------------------------

# Custom roles; built-in roles live in code (users/roles.py). users.roles holds built-in names and
# custom role ids.
roles = sa.Table(
    "roles",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("scopes", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("data_scope", sa.Text, nullable=False),
    sa.Column("field_policies", pg.JSONB, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)

teams = sa.Table(
    "teams",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("parent_id", pg.UUID(as_uuid=True)),
    sa.Column("manager_id", pg.UUID(as_uuid=True)),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)


# -- audit log (tenant schema, it0004; append-only: a trigger refuses UPDATE/DELETE) ---------------

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("actor_kind", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target_type", sa.Text, nullable=False),
    sa.Column("target_id", sa.Text, nullable=False),
    sa.Column("ip", sa.Text, nullable=False),
    sa.Column("user_agent", sa.Text, nullable=False),
    sa.Column("details", pg.JSONB, nullable=False),
    schema=TENANT,
)

# The names of followups' automation rules as their `automation_rule.fired` events told them (it0080):
# the audit log names the rule behind an automatic change (crm_identity/audit/automation.py).
automation_rule_names = sa.Table(
    "automation_rule_names",
    metadata,
    sa.Column("rule_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    schema=TENANT,
)


# -- invitations and user import (tenant schema, it0006) --------------------------------------------

# One per invited user; `token_hash` is the SHA-256 of the current link's token (a resend replaces it).
invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("token_hash", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("invited_by", sa.Text, nullable=False),
    sa.Column("import_id", pg.UUID(as_uuid=True)),
    sa.Column("send_count", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("accepted_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

user_imports = sa.Table(
    "user_imports",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_by_kind", sa.Text, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("processed", sa.Integer, nullable=False),
    sa.Column("created", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

user_import_rows = sa.Table(
    "user_import_rows",
    metadata,
    sa.Column("import_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("row_number", sa.Integer, primary_key=True),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("roles", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("team_id", pg.UUID(as_uuid=True)),
    sa.Column("user_id", pg.UUID(as_uuid=True)),
    sa.Column("error_code", sa.Text),
    schema=TENANT,
)

# A tenant admin's backups (it0070, backups/service.py): progress and the exported files' pages.
tenant_backups = sa.Table(
    "tenant_backups",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("requested_by_kind", sa.Text, nullable=False),
    sa.Column("progress_done", sa.BigInteger, nullable=False),
    sa.Column("progress_total", sa.BigInteger, nullable=False),
    sa.Column("files", pg.JSONB, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

tenant_backup_pages = sa.Table(
    "tenant_backup_pages",
    metadata,
    sa.Column("backup_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
    schema=TENANT,
)
