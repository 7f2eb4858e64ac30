"""Webhooks against a real HTTP receiver on loopback that checks every signature: queued by the
user's request and never sent by it, signed, retried with backoff, delivered exactly once per
event, logged for the administrator; bad receiver URLs refused with clear messages."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections import Counter
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from forms.webhooks import EVENTS
from inspect_app import webhooks
from inspect_app.db import db
from inspect_app.models import (
    WEBHOOK_EVENTS,
    AnnouncedColour,
    Inspection,
    Report,
    Webhook,
    WebhookDelivery,
    utcnow,
)

from .conftest import csrf_from, login
from .test_notifications import act, new_hazard


class Receiver:
    """What the loopback server saw. ``script`` lists the status codes to answer with, in
    order (then 200); a request whose signature does not verify gets 401 and is not counted."""

    def __init__(self):
        self.secret: str | None = None
        self.script: list[int] = []
        self.seen: list[dict] = []
        self.accepted: Counter = Counter()
        self.lock = threading.Lock()

    def handle(self, headers, body: bytes) -> int:
        expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(headers.get("X-Inspect-Signature", ""), expected)
        with self.lock:
            status = self.script.pop(0) if self.script else 200
            if not valid:
                status = 401
            payload = json.loads(body)
            self.seen.append(
                {
                    "valid": valid,
                    "status": status,
                    "event_id": headers.get("X-Inspect-Event-Id"),
                    "type": headers.get("X-Inspect-Event"),
                    "attempt": headers.get("X-Inspect-Attempt"),
                    "payload": payload,
                }
            )
            if valid and 200 <= status < 300:
                self.accepted[payload["id"]] += 1
        return status


@pytest.fixture
def receiver():
    box = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = box.handle(self.headers, body)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no" if status >= 300 else b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    box.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/inspect"
    yield box
    server.shutdown()
    server.server_close()


def register(client, url: str, events: list[str], description: str = "市消防平台"):
    token = csrf_from(client, "/admin/webhooks")
    return client.post(
        "/admin/webhooks",
        data={"csrf_token": token, "url": url, "events": events, "description": description},
    )


def hook_for(app, receiver: Receiver, client, events) -> int:
    login(client, "admin")
    response = register(client, receiver.url, events)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        hook = db.session.scalar(select(Webhook).order_by(Webhook.id.desc()).limit(1))
        receiver.secret = hook.secret
        return hook.id


def send(app, at=None, **config):
    with app.app_context():
        settings = dict(app.config)
        settings.update(config)
        return webhooks.send_due(db.session, config=settings, now=at)


def deliveries(app, **where) -> list[WebhookDelivery]:
    with app.app_context():
        stmt = select(WebhookDelivery).order_by(WebhookDelivery.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(WebhookDelivery, name) == value)
        rows = db.session.scalars(stmt).all()
        db.session.expunge_all()
        return rows


def test_the_request_only_queues_and_each_event_arrives_signed_exactly_once(
    app, client, district, receiver
):
    hook_for(app, receiver, client, ["hazard.created", "hazard.changed", "hazard.closed"])
    building = district["buildings"]["S1G1"]
    hazard_id = new_hazard(app, building, "inspector", deadline=date.today() + timedelta(days=3))
    # A deadline extension through the real page: the request answers without any delivery.
    street = app.test_client()
    login(street, "street")
    page = f"/hazards/{hazard_id}"
    token = csrf_from(street, page)
    response = street.post(
        f"{page}/extend_deadline",
        data={
            "csrf_token": token,
            "extend_deadline-version": "1",
            "extend_deadline-deadline": (date.today() + timedelta(days=60)).isoformat(),
            "extend_deadline-reason": "需更换消防水泵，等待采购",
        },
    )
    assert response.status_code == 302
    assert receiver.seen == []
    queued = deliveries(app)
    assert [d.event_type for d in queued] == ["hazard.created", "hazard.changed"]
    assert all(d.status == "pending" and d.attempts == 0 for d in queued)

    # The receiver fails both at first, then the creation once more, then takes everything.
    receiver.script = [500, 503, 500]
    t0 = utcnow()
    first = send(app, t0)
    assert (first.delivered, first.retrying) == (0, 2)
    assert send(app, t0).delivered == 0  # the retries are not due yet
    second = send(app, t0 + timedelta(seconds=61))  # first backoff: 60 s
    assert (second.delivered, second.retrying) == (1, 1)
    assert send(app, t0 + timedelta(seconds=61 + 119)).delivered == 0  # second: 120 s
    assert send(app, t0 + timedelta(seconds=61 + 121)).delivered == 1
    assert send(app, t0 + timedelta(days=2)).delivered == 0  # nothing is sent twice

    assert all(r["valid"] for r in receiver.seen)
    ids = {d.event_id for d in queued}
    assert receiver.accepted == Counter({i: 1 for i in ids})
    created = [r for r in receiver.seen if r["type"] == "hazard.created"]
    assert [r["attempt"] for r in created] == ["1", "2", "3"]
    assert len({r["event_id"] for r in created}) == 1  # the same id on every retry
    changed = [r for r in receiver.seen if r["type"] == "hazard.changed"]
    payload = changed[-1]["payload"]
    assert payload["id"] == changed[-1]["event_id"] and payload["type"] == "hazard.changed"
    assert payload["data"]["event"]["action"] == "deadline_extended"
    assert payload["data"]["hazard"]["id"] == hazard_id
    assert payload["data"]["building"]["code"] == building.code
    [log] = deliveries(app, event_type="hazard.created")
    assert (log.status, log.attempts, log.last_status_code, log.last_error) == (
        "delivered",
        3,
        200,
        None,
    )


def test_a_receiver_that_keeps_failing_is_logged_then_queued_again_by_the_admin(
    app, client, district, receiver
):
    hook_id = hook_for(app, receiver, client, ["hazard.created"])
    new_hazard(app, district["buildings"]["S1G2"], "street")
    receiver.script = [500, 500]
    t0 = utcnow()
    send(app, t0, WEBHOOK_MAX_ATTEMPTS=2)
    result = send(app, t0 + timedelta(minutes=5), WEBHOOK_MAX_ATTEMPTS=2)
    assert result.failed == 1
    [failed] = deliveries(app)
    assert (failed.status, failed.attempts) == ("failed", 2)
    assert failed.last_error.startswith("接收方返回 HTTP 500")
    assert send(app, t0 + timedelta(days=1)).delivered == 0  # given up: not retried alone

    page = client.get(f"/admin/webhooks/{hook_id}").get_data(as_text=True)
    assert "接收方返回 HTTP 500" in page and "重新发送" in page
    token = csrf_from(client, f"/admin/webhooks/{hook_id}")
    again = client.post(
        f"/admin/webhooks/{hook_id}/deliveries/{failed.id}/retry", data={"csrf_token": token}
    )
    assert again.status_code == 302
    assert send(app).delivered == 1
    assert receiver.accepted == Counter({failed.event_id: 1})


def test_an_unreachable_receiver_is_retried_and_nothing_is_lost(app, client, district, receiver):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    receiver.url = f"http://127.0.0.1:{closed}/hook"
    hook_for(app, receiver, client, ["hazard.created"])
    new_hazard(app, district["buildings"]["S1G1"], "street")
    result = send(app)
    assert result.retrying == 1 and "无法连接接收方" in result.errors[0]
    [pending] = deliveries(app)
    assert pending.status == "pending" and pending.attempts == 1
    assert pending.next_attempt_at > utcnow()
    assert "无法连接接收方" in pending.last_error


def test_redirects_are_not_followed_and_a_ping_tests_the_receiver(app, client, district, receiver):
    hook_id = hook_for(app, receiver, client, ["hazard.created"])
    token = csrf_from(client, f"/admin/webhooks/{hook_id}")
    assert (
        client.post(f"/admin/webhooks/{hook_id}/ping", data={"csrf_token": token}).status_code
        == 302
    )
    receiver.script = [302]
    result = send(app)
    assert result.retrying == 1 and "重定向" in result.errors[0]
    assert [r["status"] for r in receiver.seen] == [302]  # the Location was not visited
    assert send(app, utcnow() + timedelta(minutes=2)).delivered == 1
    assert receiver.seen[-1]["type"] == "ping" and receiver.seen[-1]["valid"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://files.example.cn/in", "只支持 http:// 或 https://"),
        ("http://localhost/hook", "指向本系统自身"),
        ("http://127.0.0.1/hook", "指向本系统自身"),
        ("https://ops:secret@example.cn/hook", "不能包含用户名或密码"),
        ("http://example.cn:99999/hook", "端口无效"),
        ("example.cn/hook", "只支持 http:// 或 https://"),
        ("", "请填写接收地址"),
    ],
)
def test_bad_receiver_urls_get_a_clear_message_and_create_nothing(
    app, client, district, url, message
):
    login(client, "admin")
    response = register(client, url, ["hazard.created"])
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Webhook.id))) == 0


def test_a_hook_needs_at_least_one_known_event(app, client, district):
    login(client, "admin")
    none = register(client, "https://xf.example.cn/in", [])
    assert none.status_code == 422 and "请至少选择一种事件" in none.get_data(as_text=True)
    unknown = register(client, "https://xf.example.cn/in", ["hazard.deleted"])
    assert unknown.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count(Webhook.id))) == 0


def test_webhook_pages_are_for_administrators_within_their_area(app, client, district, make):
    login(client, "street")
    assert client.get("/admin/webhooks").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "admin")
    assert register(client, "https://xf.example.cn/in", ["hazard.created"]).status_code == 302
    make.user("admin2", "admin", district["areas"]["S2"])
    other = app.test_client()
    login(other, "admin2")
    with app.app_context():
        hook_id = db.session.scalar(select(Webhook.id))
    assert other.get(f"/admin/webhooks/{hook_id}").status_code == 404
    assert "xf.example.cn" not in other.get("/admin/webhooks").get_data(as_text=True)


def test_a_hook_hears_only_of_buildings_in_its_area(app, client, district, make, receiver):
    make.user("admin2", "admin", district["areas"]["S2"])
    login(client, "admin2")
    assert register(client, receiver.url, ["hazard.created"]).status_code == 302
    new_hazard(app, district["buildings"]["S1G1"], "street")
    new_hazard(app, district["buildings"]["S2G1"], "fire")
    [only] = deliveries(app)
    assert json.loads(only.body)["data"]["building"]["code"] == district["buildings"]["S2G1"].code


def test_two_hooks_share_the_event_id_of_one_event(app, client, district, receiver):
    login(client, "admin")
    register(client, receiver.url, ["hazard.created"])
    register(client, receiver.url + "/copy", ["hazard.created", "hazard.closed"])
    new_hazard(app, district["buildings"]["S1G1"], "street")
    first, second = deliveries(app)
    assert first.webhook_id != second.webhook_id
    assert first.event_id == second.event_id and first.body == second.body


def test_code_colour_changes_are_announced_once_and_only_changes(app, client, district, receiver):
    hook_for(app, receiver, client, ["building.colour_changed"])
    with app.app_context():
        # Registering records every building's current colour without announcing it.
        assert db.session.scalar(select(func.count(AnnouncedColour.building_id))) == 8
    assert deliveries(app) == []
    building = district["buildings"]["S1G1"]
    hazard_id = new_hazard(app, building, "street", severity="major")
    [red] = deliveries(app)
    data = json.loads(red.body)["data"]
    assert (data["from"], data["to"], data["building"]["id"]) == ("grey", "red", building.id)
    assert any("消防通道堵塞" in r for r in data["reasons"])  # why, in words
    new_hazard(app, building, "street", severity="general")  # still red: nothing to say
    assert len(deliveries(app)) == 1
    act(app, hazard_id, "manager", "evidence")
    act(app, hazard_id, "fire", "accept", note=None)  # major closed, a general one left
    latest = json.loads(deliveries(app)[-1].body)["data"]
    assert (latest["from"], latest["to"]) == ("red", "yellow")
    with app.app_context():
        assert webhooks.sweep_colours(db.session, today=date.today()) == 0


def test_inspections_and_reports_reach_hooks_without_personal_data(
    app, client, district, checklist, receiver
):
    hook_for(app, receiver, client, ["inspection.submitted", "report.received"])
    building = district["buildings"]["S1G2"]
    with app.app_context():
        from inspect_app.models import User

        db.session.add(
            Inspection(
                client_uuid="0e5b7a8e-6a43-4c1f-9d55-0000000000aa",
                kind="self_check",
                building_id=building.id,
                checklist_id=checklist.id,
                inspector=db.session.scalar(select(User).where(User.username == "manager")),
                started_at=utcnow(),
            )
        )
        db.session.add(
            Report(
                building_id=building.id,
                description="三楼安全出口被锁",
                contact="13800000000",
                client_key="k" * 64,
            )
        )
        db.session.commit()
    send(app)
    by_type = {r["type"]: r["payload"]["data"] for r in receiver.seen}
    assert by_type["inspection.submitted"]["inspection"]["kind"] == "self_check"
    report = by_type["report.received"]["report"]
    assert report["description"] == "三楼安全出口被锁"
    raw = json.dumps(by_type, ensure_ascii=False)
    assert "13800000000" not in raw and "k" * 64 not in raw


def test_the_send_webhooks_command_sends_what_is_due(app, client, district, receiver):
    hook_for(app, receiver, client, ["hazard.created"])
    new_hazard(app, district["buildings"]["S1G1"], "street")
    result = app.test_cli_runner().invoke(args=["send-webhooks"])
    assert result.exit_code == 0 and "1 delivered" in result.output
    assert sum(receiver.accepted.values()) == 1


def test_the_admin_form_offers_exactly_the_events_the_app_sends():
    assert [choice.value for choice in EVENTS] == list(WEBHOOK_EVENTS)


def test_the_signature_is_hmac_sha256_of_the_raw_body():
    body = b'{"id":"x","type":"ping"}'
    assert webhooks.sign("s3cret", body) == (
        "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    )
    assert webhooks.backoff(1, base=60, cap=3600) == timedelta(seconds=60)
    assert webhooks.backoff(4, base=60, cap=3600) == timedelta(seconds=480)
    assert webhooks.backoff(30, base=60, cap=3600) == timedelta(seconds=3600)


def test_disabled_hooks_queue_nothing_new(app, client, district, receiver):
    hook_id = hook_for(app, receiver, client, ["hazard.created"])
    token = csrf_from(client, f"/admin/webhooks/{hook_id}")
    response = client.post(
        f"/admin/webhooks/{hook_id}",
        data={"csrf_token": token, "url": receiver.url, "events": ["hazard.created"]},
    )
    assert response.status_code == 302
    new_hazard(app, district["buildings"]["S1G1"], "street")
    assert deliveries(app) == []
