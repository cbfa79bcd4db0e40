"""Signatures are checked by the independent `standardwebhooks` library, as a receiver would."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crm_webhooks.delivery.signing import signature, webhook_headers
from crm_webhooks.endpoint.secrets import new_signing_secret


def test_headers_verify_with_standard_webhooks() -> None:
    secret = new_signing_secret()
    body = json.dumps({"id": "evt-1", "data": {"name": "张三"}}, ensure_ascii=False).encode()

    headers = webhook_headers(secret, "evt-1", body)

    assert Webhook(secret).verify(body, headers) == {"id": "evt-1", "data": {"name": "张三"}}
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"] == "evt-1"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5


def test_signature_matches_the_library_for_a_fixed_input() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the example secret from the spec
    body = b'{"test": 2432232314}'
    ours = signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert ours == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize("part", ["body", "id", "timestamp", "secret"])
def test_any_change_breaks_the_signature(part: str) -> None:
    secret = new_signing_secret()
    body = b'{"a":1}'
    headers = webhook_headers(secret, "evt-1", body)
    if part == "body":
        body = b'{"a":2}'
    elif part == "id":
        headers["webhook-id"] = "evt-2"
    elif part == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    else:
        secret = new_signing_secret()
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)
