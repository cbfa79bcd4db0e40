"""Tag change numbers and manual tagging.

`tag_change_seq` numbers every apply and removal of a tag on a customer (TagApplied/TagRemoved
`change_seq`), so a projection can keep the newest change per customer and tag whatever order
events arrive in. `applied_by` records who applied a tag by hand (kept by a merge's bookkeeping,
so an undo gives it back). Every tag already on a customer is announced once as `tag.applied`
(outbox rows written here, published by the relay), so projections built after the fact, such
as customers' tag filter (migration c0011), catch up on existing data.

Revision ID: tg0003
Revises: tg0002
Create Date: 2026-11-23
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.events import CloudEvent, event_type, proto_data, subject_for
from crm_platform.migrations import current_schema
from crm_platform.tables import outbox
from crm_proto.crm.events.v1 import events_pb2

revision: str = "tg0003"
down_revision: str | None = "tg0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"
# Rows announced per INSERT into the outbox.
BATCH = 1000


def upgrade() -> None:
    schema = current_schema()
    op.execute(sa.schema.CreateSequence(sa.Sequence("tag_change_seq", schema=T)))
    op.add_column("customer_tags", sa.Column("applied_by", sa.Text, nullable=False, server_default=""),
                  schema=schema)
    op.add_column("merge_tag_moves", sa.Column("applied_by", sa.Text, nullable=False, server_default=""),
                  schema=schema)
    _announce_existing_tags(schema)


def _announce_existing_tags(schema: str) -> None:
    """One `tag.applied` per existing customer tag, in the same transaction as the schema change.
    A schema that is not a tenant's (no `t_<hex>` name) has no tenant to publish for."""
    if not schema.startswith("t_"):
        return
    tenant_id = uuid.UUID(hex=schema.removeprefix("t_"))
    bind = op.get_bind()
    # Tables as this revision knows them (full Tables: schema_translate_map does not reach sa.table()).
    metadata = sa.MetaData()
    customer_tags = sa.Table("customer_tags", metadata, sa.Column("customer_id"), sa.Column("tag_id"),
                             sa.Column("source"), sa.Column("rule_id"), sa.Column("applied_at"), schema=T)
    tags = sa.Table("tags", metadata, sa.Column("id"), sa.Column("name"), schema=T)
    rows = bind.execute(
        sa.select(customer_tags.c.customer_id, customer_tags.c.tag_id, customer_tags.c.source,
                  customer_tags.c.rule_id, tags.c.name,
                  sa.Sequence("tag_change_seq", schema=T).next_value().label("change_seq"))
        .join(tags, tags.c.id == customer_tags.c.tag_id)
        .order_by(customer_tags.c.applied_at, customer_tags.c.customer_id, customer_tags.c.tag_id)
    ).all()
    values = []
    for row in rows:
        applied = events_pb2.TagApplied(
            customer_id=str(row.customer_id), tag_id=str(row.tag_id), tag_name=row.name, source=row.source,
            rule_id=str(row.rule_id or ""), change_seq=int(row.change_seq),
        )
        event = CloudEvent.new(source="crm/tagging", type=event_type("tag", "applied"), tenant_id=tenant_id,
                               data=proto_data(applied), subject=str(row.customer_id))
        values.append({"event_id": uuid.UUID(event.id), "tenant_id": tenant_id,
                       "subject": subject_for(tenant_id, "tag", "applied"), "payload": event.to_json(),
                       "headers": {}})
    for start in range(0, len(values), BATCH):
        bind.execute(sa.insert(outbox).values(values[start:start + BATCH]))


def downgrade() -> None:
    schema = current_schema()
    op.drop_column("merge_tag_moves", "applied_by", schema=schema)
    op.drop_column("customer_tags", "applied_by", schema=schema)
    op.execute(sa.schema.DropSequence(sa.Sequence("tag_change_seq", schema=T)))
