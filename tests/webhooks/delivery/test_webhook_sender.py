"""One attempt against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

from standardwebhooks.webhooks import Webhook

from crm_webhooks.delivery.sender import WebhookSender
from crm_webhooks.endpoint.secrets import new_signing_secret
from tests.webhooks.webhooks_testkit import Receiver

BODY = '{"specversion":"1.0","id":"evt-1","data":{"name":"张三"}}'.encode()


async def test_success_posts_signed_exact_bytes(receiver: Receiver) -> None:
    secret = new_signing_secret()
    outcome = await WebhookSender(allow_private_targets=True).send(
        url=receiver.url + "?k=v", secret=secret, message_id="evt-1", body=BODY
    )
    assert outcome.succeeded and outcome.status_code == 204
    [request] = receiver.received
    assert request.path == "/hooks?k=v"
    assert request.body == BODY
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert request.headers["content-type"] == "application/json"
    Webhook(secret).verify(request.body, request.headers)


async def test_non_2xx_is_a_failure_with_its_status(receiver: Receiver) -> None:
    receiver.statuses = [503]
    outcome = await WebhookSender(allow_private_targets=True).send(
        url=receiver.url, secret=new_signing_secret(), message_id="evt-1", body=BODY
    )
    assert not outcome.succeeded
    assert (outcome.status_code, outcome.error) == (503, "HTTP 503")


async def test_redirects_are_not_followed(receiver: Receiver) -> None:
    receiver.statuses = [307]
    outcome = await WebhookSender(allow_private_targets=True).send(
        url=receiver.url, secret=new_signing_secret(), message_id="evt-1", body=BODY
    )
    assert (outcome.status_code, outcome.error) == (307, "HTTP 307")
    assert len(receiver.received) == 1


async def test_slow_receiver_times_out(receiver: Receiver) -> None:
    receiver.delay = 1.0
    outcome = await WebhookSender(allow_private_targets=True, timeout=0.2).send(
        url=receiver.url, secret=new_signing_secret(), message_id="evt-1", body=BODY
    )
    assert outcome.status_code is None
    assert outcome.error is not None and outcome.error.startswith("timed out after 0.2 s")
    assert 150 <= outcome.duration_ms < 900


async def test_private_target_is_refused_in_production_mode(receiver: Receiver) -> None:
    outcome = await WebhookSender(allow_private_targets=False).send(
        url=receiver.url, secret=new_signing_secret(), message_id="evt-1", body=BODY
    )
    assert outcome.error is not None and outcome.error.startswith("target refused")
    assert receiver.received == []


async def test_connection_refused_is_a_failure() -> None:
    outcome = await WebhookSender(allow_private_targets=True).send(
        url="http://127.0.0.1:1/hook", secret=new_signing_secret(), message_id="evt-1", body=BODY
    )
    assert outcome.status_code is None
    assert outcome.error is not None and outcome.error.startswith("ConnectError")
