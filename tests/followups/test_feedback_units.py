"""Pure pieces of feedback and surveys: language detection and labels of the sentiment models, the
survey token (tenant part, random part, hash), a survey's status and its email under field policies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from crm_followups.feedback.schemas import survey_status, survey_to_proto
from crm_followups.feedback.sentiment import analyse, language_of
from crm_followups.surveys.service import new_token, tenant_of, token_hash
from crm_platform.auth import Principal

TENANT = uuid.UUID("0190a0c2-0000-7000-8000-000000000001")


def test_language_and_sentiment_of_chinese_and_english_text() -> None:
    assert language_of("服务很好 thanks") == "zh" and language_of("Great service, 谢谢") == "en"
    assert analyse("   ") is None and analyse("12345 !!!") is None
    zh = analyse("产品质量很差，客服也不回复，非常失望。")
    en = analyse("Excellent support, thank you for the quick fix!")
    assert zh is not None and (zh.language, zh.label) == ("zh", "negative") and -1 <= zh.score < 0
    assert en is not None and (en.language, en.label) == ("en", "positive") and 0 < en.score <= 1
    assert analyse("The order number is 20240320001.") == analyse("The order number is 20240320001.")


def test_survey_tokens_name_their_tenant_and_are_unguessable() -> None:
    first, second = new_token(TENANT), new_token(TENANT)
    assert first != second and tenant_of(first) == TENANT and len(first.split(".")[1]) >= 40
    assert token_hash(first) != token_hash(second) and len(token_hash(first)) == 64
    for forged in ("", "garbage", f"{TENANT.hex}.", f"{TENANT.hex[:-1]}x.{'a' * 43}", f"{TENANT.hex}{'a' * 43}"):
        assert tenant_of(forged) is None


def _row(**extra: object) -> SimpleNamespace:
    now = datetime.now(UTC)
    values = {"id": uuid.uuid4(), "customer_id": uuid.uuid4(), "kind": "csat", "language": "en",
              "email": "buyer@example.org", "sent_by": "u", "sent_at": now, "expires_at": now + timedelta(days=14),
              "answered_at": None, "feedback_id": None, **extra}
    return SimpleNamespace(**values)


def test_survey_status_and_email_follow_the_viewers_field_policy() -> None:
    now = datetime.now(UTC)
    assert survey_status(_row(), now) == "sent"  # type: ignore[arg-type]
    assert survey_status(_row(expires_at=now - timedelta(seconds=1)), now) == "expired"  # type: ignore[arg-type]
    assert survey_status(_row(answered_at=now, expires_at=now - timedelta(days=1)), now) == "answered"  # type: ignore[arg-type]

    def viewer(policy: str | None) -> Principal:
        return Principal(TENANT, "u", "c", frozenset(), field_policies={"email": policy} if policy else {})

    emails = [survey_to_proto(_row(), viewer(p), now).email for p in (None, "read_only", "masked", "hidden")]  # type: ignore[arg-type]
    assert emails == ["buyer@example.org", "buyer@example.org", "****", ""]
