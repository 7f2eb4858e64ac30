"""The inbox: messages derived from history for exactly the people whose scope covers the
building, reminders and escalation exactly once however often the run goes, the inbox pages,
and the e-mail digest against a real SMTP server on loopback."""

from __future__ import annotations

import socket
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from inspect_app import hazards, notifications
from inspect_app.auth import building_scope, covering_users
from inspect_app.db import db
from inspect_app.models import (
    Building,
    Hazard,
    HazardReminder,
    Inspection,
    Notification,
    NotificationSetting,
    Report,
    User,
    utcnow,
)

from .conftest import csrf_from, login

TODAY = date(2026, 3, 2)


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def new_hazard(
    app, building, actor: str, *, severity="general", deadline=TODAY, text="消防通道堵塞"
):
    """A hazard created as the app creates them (``hazards.create``), committed."""
    with app.app_context():
        hazard, _event = hazards.create(
            db.session,
            building=db.session.get(Building, building.id),
            finding=None,
            item=None,
            severity=severity,
            description=text,
            plan=hazards.PlanLine("测试物业公司", "清理通道", deadline, None),
            fixed_on_spot=False,
            actor=_user(actor),
        )
        db.session.commit()
        return hazard.id


def act(app, hazard_id: int, actor: str, action: str, **kw):
    """Apply a ledger transition (or, for evidence, the history record it writes) and commit."""
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        user = _user(actor)
        if action == "evidence":
            hazards.record(
                db.session, hazard, actor=user, action="evidence_submitted", to_status="submitted"
            )
        else:
            getattr(hazards, action)(db.session, hazard, actor=user, version=hazard.version, **kw)
        db.session.commit()


def inbox(app, username: str) -> list[Notification]:
    with app.app_context():
        rows = db.session.scalars(
            select(Notification)
            .join(User, Notification.user_id == User.id)
            .where(User.username == username)
            .order_by(Notification.id)
        ).all()
        db.session.expunge_all()
        return rows


def recipients(app, **where) -> set[str]:
    with app.app_context():
        stmt = select(User.username).join(Notification, Notification.user_id == User.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(Notification, name) == value)
        return set(db.session.scalars(stmt))


@pytest.fixture
def town(district, make):
    """The conftest district plus a grid worker of S2G1 and a second street office (S2)."""
    district["users"]["inspector2"] = make.user(
        "inspector2", "inspector", district["areas"]["S2G1"]
    )
    district["users"]["street2"] = make.user("street2", "street", district["areas"]["S2"])
    return district


# --- who hears of what --------------------------------------------------------------------------


def test_a_new_hazard_reaches_the_people_whose_scope_covers_its_building_and_nobody_else(app, town):
    b = town["buildings"]
    hazard_id = new_hazard(app, b["S1G1"], "street")
    # The grid worker of S1G1 hears; the street office acted; fire only for what it accepts;
    # the manager of another building, the other street and the administrator never.
    assert recipients(app, hazard_id=hazard_id) == {"inspector"}

    managed = new_hazard(app, b["S1G2"], "inspector")
    assert recipients(app, hazard_id=managed) == {"manager", "street"}

    major = new_hazard(app, b["S2G1"], "inspector2", severity="major")
    assert recipients(app, hazard_id=major) == {"street2", "fire"}


def test_covering_users_is_the_exact_inverse_of_building_scope(app, town, make):
    # Odd accounts too: a disabled grid worker, a manager who also has an area set.
    make.user("gone", "inspector", town["areas"]["S1G1"], active=False)
    make.user("odd", "manager", town["areas"]["S1"], [town["buildings"]["S2G2"]])
    with app.app_context():
        buildings = db.session.scalars(select(Building.id)).all()
        covering = covering_users(buildings)
        for user in db.session.scalars(select(User)):
            visible = set(db.session.scalars(select(Building.id).where(building_scope(user))))
            covered = {b for b, users in covering.items() if user in users}
            assert covered == (visible if user.active else set()), user.username


def test_nobody_ever_holds_a_message_about_a_building_outside_their_scope(app, town):
    """Every kind of history, in every building, for every role: each message's building is
    one that ``building_scope`` lets its reader see."""
    actors = {"S1G1": "inspector", "S1G2": "street", "S2G1": "inspector2", "S2G2": "street2"}
    for grid, building in town["buildings"].items():
        for severity in ("minor", "general", "major"):
            hid = new_hazard(app, building, actors[grid], severity=severity)
            act(app, hid, actors[grid], "evidence")
            act(app, hid, "fire", "reject", reason="照片不清楚")
            act(app, hid, actors[grid], "evidence")
            act(app, hid, "fire", "accept", note=None)
    with app.app_context():
        db.session.add(Report(building_id=town["buildings"]["S1G2"].id, description="楼道堆放杂物"))
        db.session.commit()
        assert db.session.scalar(select(func.count(Notification.id))) > 20
        for user in db.session.scalars(select(User)):
            visible = set(db.session.scalars(select(Building.id).where(building_scope(user))))
            held = set(
                db.session.scalars(
                    select(Notification.building_id).where(Notification.user_id == user.id)
                )
            )
            assert held <= visible, user.username
        admin = _user("admin")
        assert db.session.scalar(select(func.count()).where(Notification.user_id == admin.id)) == 0
        # A resident's report is for those who verify reports, never the property manager.
        kinds = set(
            db.session.scalars(
                select(Notification.kind).where(Notification.user_id == _user("manager").id)
            )
        )
        assert "report_received" not in kinds and "hazard_created" in kinds


def test_evidence_goes_to_who_accepts_it_and_a_rejection_back_to_who_sent_it(app, town):
    b = town["buildings"]["S1G2"]
    general = new_hazard(app, b, "inspector")
    act(app, general, "manager", "evidence")
    # A general hazard is the street office's to accept; the detachment is not disturbed.
    assert recipients(app, hazard_id=general, kind="evidence_submitted") == {"street"}
    act(app, general, "street", "reject", reason="灭火器压力仍不足")
    assert recipients(app, hazard_id=general, kind="evidence_rejected") == {"manager"}
    [message] = [n for n in inbox(app, "manager") if n.kind == "evidence_rejected"]
    assert message.data["note"] == "灭火器压力仍不足"

    major = new_hazard(app, b, "street", severity="major")
    act(app, major, "manager", "evidence")
    assert recipients(app, hazard_id=major, kind="evidence_submitted") == {"fire"}
    act(app, major, "fire", "accept", note="复查合格")
    # The manager sent the evidence and answers for the building; the street office did not.
    assert recipients(app, hazard_id=major, kind="hazard_closed") == {"manager"}


def test_hazards_found_by_one_inspection_make_one_message(app, town, checklist):
    b = town["buildings"]["S1G2"]
    with app.app_context():
        building = db.session.get(Building, b.id)
        inspector = _user("street")
        inspection = Inspection(
            client_uuid="8a7d3c52-1d1b-4c3e-9f0a-000000000001",
            kind="survey",
            building=building,
            checklist_id=checklist.id,
            inspector=inspector,
            started_at=utcnow(),
        )
        db.session.add(inspection)
        db.session.flush()
        from inspect_app.models import ChecklistItem, Finding

        items = db.session.scalars(
            select(ChecklistItem).where(ChecklistItem.checklist_id == checklist.id).limit(3)
        ).all()
        for n, item in enumerate(items):
            finding = Finding(inspection=inspection, item=item, result="fail")
            db.session.add(finding)
            db.session.flush()
            hazards.create(
                db.session,
                building=building,
                finding=finding,
                item=item,
                severity="major" if n == 0 else "general",
                description=item.text_zh,
                plan=hazards.PlanLine("测试物业公司", None, TODAY, None),
                fixed_on_spot=False,
                actor=inspector,
            )
        db.session.commit()
        inspection_id = inspection.id
    [message] = inbox(app, "manager")
    assert message.kind == "hazard_created"
    assert message.inspection_id == inspection_id and message.hazard_id is None
    assert message.data["count"] == 3 and message.data["major"] == 1
    # The major one makes the detachment hear of it too; the actor hears nothing.
    assert recipients(app, inspection_id=inspection_id) == {"manager", "fire"}


def test_a_change_that_is_rolled_back_leaves_no_message(app, town):
    b = town["buildings"]["S1G1"]
    with app.app_context():
        hazards.create(
            db.session,
            building=db.session.get(Building, b.id),
            finding=None,
            item=None,
            severity="general",
            description="撤回的记录",
            plan=None,
            fixed_on_spot=False,
            actor=_user("street"),
        )
        db.session.flush()
        db.session.rollback()
        # A savepoint rolled back inside a transaction that does commit.
        with db.session.begin_nested() as nested:
            hazards.create(
                db.session,
                building=db.session.get(Building, b.id),
                finding=None,
                item=None,
                severity="general",
                description="存档点内撤回",
                plan=None,
                fixed_on_spot=False,
                actor=_user("street"),
            )
            db.session.flush()
            nested.rollback()
        db.session.commit()
        assert db.session.scalar(select(func.count(Notification.id))) == 0
        assert db.session.scalar(select(func.count(Hazard.id))) == 0


# --- reminders --------------------------------------------------------------------------------


def run(app, today: date, **config):
    with app.app_context():
        settings = dict(app.config)
        settings.update(config)
        result = notifications.run_reminders(db.session, today=today, config=settings)
        db.session.commit()
        return result


def kinds_for(app, username: str, hazard_id: int) -> list[tuple[str, object, object]]:
    return [
        (n.kind, n.data.get("days"), n.data.get("level"))
        for n in inbox(app, username)
        if n.hazard_id == hazard_id and n.kind in ("deadline_soon", "overdue")
    ]


def test_reminders_and_escalation_go_out_once_per_threshold_however_often_the_run_goes(app, town):
    b = town["buildings"]["S1G2"]
    deadline = TODAY + timedelta(days=7)
    hid = new_hazard(app, b, "fire", deadline=deadline)
    schedule = [
        (TODAY, [("deadline_soon", 7, None)]),
        (TODAY + timedelta(days=3), []),
        (deadline - timedelta(days=1), [("deadline_soon", 1, None)]),
        (deadline, []),
        (deadline + timedelta(days=1), [("overdue", 1, "grid")]),
        (deadline + timedelta(days=6), []),
        (deadline + timedelta(days=7), [("overdue", 7, "street")]),
        (deadline + timedelta(days=15), [("overdue", 15, "fire")]),
        (deadline + timedelta(days=40), []),
    ]
    for day, expected in schedule:
        first = run(app, day)
        again = run(app, day)  # the same day, again: nothing new
        assert again.notifications == 0 and again.due == 0 and again.overdue == 0
        assert first.due + first.overdue == len(expected), day
    # The building's manager hears of the deadline and of the first day overdue.
    assert kinds_for(app, "manager", hid) == [
        ("deadline_soon", 7, None),
        ("deadline_soon", 1, None),
        ("overdue", 1, "grid"),
    ]
    # The street office hears when the chain reaches it; the detachment last; the grid worker
    # of another grid never.
    assert kinds_for(app, "street", hid) == [("overdue", 7, "street")]
    assert kinds_for(app, "fire", hid) == [("overdue", 15, "fire")]
    assert kinds_for(app, "inspector", hid) == []
    with app.app_context():
        assert db.session.scalar(select(func.count(HazardReminder.id))) == 5


def test_a_hazard_found_close_to_its_deadline_gets_one_reminder_not_two(app, town):
    hid = new_hazard(app, town["buildings"]["S1G1"], "street", deadline=TODAY)
    result = run(app, TODAY)
    assert result.due == 1
    assert kinds_for(app, "inspector", hid) == [("deadline_soon", 0, None)]
    [message] = [n for n in inbox(app, "inspector") if n.kind == "deadline_soon"]
    with app.test_request_context():
        assert (
            notifications.describe(message)[0] == f"{town['buildings']['S1G1'].name}：隐患今天到期"
        )


def test_an_extended_deadline_gets_its_own_reminders_and_closed_hazards_none(app, town):
    b = town["buildings"]["S1G1"]
    hid = new_hazard(app, b, "street", deadline=TODAY + timedelta(days=1))
    done = new_hazard(app, b, "street", deadline=TODAY + timedelta(days=1))
    act(app, done, "inspector", "evidence")
    run(app, TODAY)
    new_deadline = TODAY + timedelta(days=20)
    act(
        app, hid, "street", "extend_deadline", deadline=new_deadline, reason="等待材料", today=TODAY
    )
    assert run(app, new_deadline - timedelta(days=7)).due == 1
    assert kinds_for(app, "inspector", hid) == [
        ("deadline_soon", 1, None),
        ("deadline_soon", 7, None),
    ]
    assert kinds_for(app, "inspector", done) == []  # evidence is in: nobody is chased


def test_a_claimed_reminder_is_not_announced_again_even_by_a_simultaneous_run(app, town):
    """What makes concurrent runs safe is the unique constraint, so check that it is there and
    that a run finding the claim already made (by the other run) announces nothing."""
    hid = new_hazard(app, town["buildings"]["S1G1"], "street", deadline=TODAY + timedelta(days=1))
    with app.app_context():
        for threshold in ("due:7", "due:1"):
            db.session.add(
                HazardReminder(
                    hazard_id=hid, deadline=TODAY + timedelta(days=1), threshold=threshold
                )
            )
        db.session.commit()
        db.session.add(
            HazardReminder(hazard_id=hid, deadline=TODAY + timedelta(days=1), threshold="due:1")
        )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
    assert run(app, TODAY).notifications == 0


def test_reminder_settings_that_cannot_work_stop_the_command_with_a_message(
    app, district, monkeypatch
):
    runner = app.test_cli_runner()
    args = ["send-reminders", "--today", "2026-03-02", "--no-webhooks"]
    monkeypatch.setitem(app.config, "OVERDUE_ESCALATION", {"grid": 5, "street": 2})
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and "OVERDUE_ESCALATION" in result.output
    monkeypatch.setitem(app.config, "OVERDUE_ESCALATION", {"grid": 1})
    monkeypatch.setitem(app.config, "REMINDER_DAYS", "7,x")
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and "REMINDER_DAYS" in result.output


def test_the_command_twice_on_the_same_day_creates_each_reminder_once(app, town):
    b = town["buildings"]["S1G2"]
    new_hazard(app, b, "fire", deadline=TODAY + timedelta(days=7))
    new_hazard(app, b, "fire", deadline=TODAY - timedelta(days=8))
    runner = app.test_cli_runner()
    args = ["send-reminders", "--today", TODAY.isoformat(), "--no-webhooks"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "1 deadlines soon, 2 overdue escalations" in first.output
    with app.app_context():
        count = db.session.scalar(select(func.count(Notification.id)))
    second = runner.invoke(args=args)
    assert second.exit_code == 0 and "0 deadlines soon, 0 overdue escalations" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Notification.id))) == count


# --- the inbox pages --------------------------------------------------------------------------


def test_inbox_lists_messages_counts_unread_in_the_header_and_opening_marks_read(app, client, town):
    b = town["buildings"]["S1G1"]
    first = new_hazard(app, b, "street", text="楼道堆放电动车")
    new_hazard(app, b, "street", text="防火门常开")
    login(client, "inspector")
    home = client.get("/").get_data(as_text=True)
    assert 'class="count"' in home and ">2</span>" in home
    page = client.get("/inbox").get_data(as_text=True)
    assert page.count(f"{b.name}：新隐患（一般）") == 2
    assert "楼道堆放电动车" in page and "防火门常开" in page
    [message] = [n for n in inbox(app, "inspector") if n.hazard_id == first]
    opened = client.get(f"/inbox/{message.id}")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/hazards/{first}")
    assert ">1</span>" in client.get("/").get_data(as_text=True)
    unread = client.get("/inbox?unread=1").get_data(as_text=True)
    assert "防火门常开" in unread and "楼道堆放电动车" not in unread
    token = csrf_from(client, "/inbox")
    client.post("/inbox/read-all", data={"csrf_token": token})
    assert 'class="count"' not in client.get("/inbox").get_data(as_text=True)
    assert all(n.read_at is not None for n in inbox(app, "inspector"))


def test_someone_elses_message_answers_404_and_stays_unread(app, client, town):
    new_hazard(app, town["buildings"]["S1G2"], "inspector")
    [theirs] = inbox(app, "manager")
    login(client, "street")
    assert client.get(f"/inbox/{theirs.id}").status_code == 404
    token = csrf_from(client, "/inbox")
    assert client.post(f"/inbox/{theirs.id}/read", data={"csrf_token": token}).status_code == 404
    assert inbox(app, "manager")[0].read_at is None


def test_a_message_about_a_building_that_left_the_users_scope_is_no_longer_shown(app, client, town):
    new_hazard(app, town["buildings"]["S1G1"], "street", text="配电箱未上锁")
    [message] = inbox(app, "inspector")
    with app.app_context():
        user = _user("inspector")
        user.area_id = town["areas"]["S2G2"].id
        db.session.commit()
    login(client, "inspector")
    assert "配电箱未上锁" not in client.get("/inbox").get_data(as_text=True)
    assert client.get(f"/inbox/{message.id}").status_code == 404
    assert 'class="count"' not in client.get("/inbox").get_data(as_text=True)


def test_email_settings_need_an_address_for_a_digest(app, client, district):
    login(client, "manager")
    token = csrf_from(client, "/inbox")
    bad = client.post(
        "/inbox/settings", data={"csrf_token": token, "mail-email_digest": "y", "mail-email": ""}
    )
    assert bad.status_code == 422
    assert "开启邮件摘要需要填写邮箱地址" in bad.get_data(as_text=True)
    wrong = client.post(
        "/inbox/settings", data={"csrf_token": token, "mail-email_digest": "y", "mail-email": "x@"}
    )
    assert wrong.status_code == 422 and "邮箱地址格式不正确" in wrong.get_data(as_text=True)
    ok = client.post(
        "/inbox/settings",
        data={"csrf_token": token, "mail-email_digest": "y", "mail-email": "wy@example.cn"},
    )
    assert ok.status_code == 302
    with app.app_context():
        row = db.session.get(NotificationSetting, district["users"]["manager"].id)
        assert row.email == "wy@example.cn" and row.email_digest is True


# --- e-mail digest against a real SMTP server -------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps what it receives and refuses recipients on demand."""

    def __init__(self):
        self.messages: list = []
        self.refuse = False
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        with self.lock:
            self.messages.append(
                (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default))
            )
        return "250 Message accepted"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


def digest(app, **config):
    with app.app_context():
        settings = dict(app.config)
        settings.update(config)
        result = notifications.send_digests(db.session, config=settings)
        db.session.commit()
        return result


def subscribe(app, username: str, address: str):
    with app.app_context():
        notifications.save_settings(db.session, _user(username), email=address, digest=True)
        db.session.commit()


def test_one_digest_per_user_per_run_and_never_the_same_message_twice(app, town, smtp):
    b = town["buildings"]
    new_hazard(app, b["S1G2"], "inspector", text="消火栓无水")
    new_hazard(app, b["S1G2"], "inspector", text="应急照明损坏")
    new_hazard(app, b["S1G1"], "fire", text="疏散指示缺失")
    subscribe(app, "manager", "wuye@example.cn")
    subscribe(app, "street", "jiedao@example.cn")
    config = {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "PUBLIC_BASE_URL": "https://xf.example.cn",
    }
    assert digest(app).enabled is False  # off by default
    assert smtp.messages == []

    result = digest(app, **config)
    assert (result.sent, result.failed) == (2, 0)
    by_rcpt = {tuple(rcpt): msg for rcpt, msg in smtp.messages}
    assert set(by_rcpt) == {("wuye@example.cn",), ("jiedao@example.cn",)}
    manager_mail = by_rcpt[("wuye@example.cn",)].get_content()
    assert "消火栓无水" in manager_mail and "应急照明损坏" in manager_mail
    assert "疏散指示缺失" not in manager_mail  # not the manager's building
    assert "https://xf.example.cn/hazards/" in manager_mail
    assert "3 条新消息" in str(by_rcpt[("jiedao@example.cn",)]["Subject"])

    assert digest(app, **config).sent == 0  # nothing new
    new_hazard(app, b["S1G2"], "inspector", text="楼顶违规搭建")
    assert digest(app, **config).sent == 2  # the manager and the street office, once each
    latest = {tuple(rcpt): msg.get_content() for rcpt, msg in smtp.messages[-2:]}
    assert "楼顶违规搭建" in latest[("wuye@example.cn",)]
    assert "消火栓无水" not in latest[("wuye@example.cn",)]


def test_a_refusing_or_absent_smtp_server_loses_nothing(app, town, smtp):
    new_hazard(app, town["buildings"]["S1G2"], "inspector", text="消防水泵故障")
    subscribe(app, "manager", "wuye@example.cn")
    smtp.refuse = True
    refused = digest(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    assert (refused.sent, refused.failed) == (0, 1)
    assert "邮件服务器拒绝" in refused.errors[0]
    absent = digest(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port(), MAIL_TIMEOUT_SECONDS=2)
    assert absent.failed == 1 and "无法连接邮件服务器" in absent.errors[0]
    assert all(n.emailed_at is None for n in inbox(app, "manager"))
    smtp.refuse = False
    assert digest(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port).sent == 1
    assert "消防水泵故障" in smtp.messages[-1][1].get_content()


def test_a_spot_check_draw_gives_each_drawn_building_a_task_for_the_checking_offices(
    app, town, checklist
):
    from decimal import Decimal

    from inspect_app.models import Campaign, SpotCheck, SpotCheckTask

    drawn = town["buildings"]["S1G2"]
    with app.app_context():
        campaign = Campaign(
            name="除险清患",
            area_id=town["areas"]["D"].id,
            checklist_id=checklist.id,
            starts_on=TODAY,
            ends_on=TODAY + timedelta(days=90),
        )
        db.session.add(campaign)
        db.session.flush()
        draw = SpotCheck(
            campaign_id=campaign.id,
            area_id=town["areas"]["S1"].id,
            seed="seed-1",
            algorithm="sha256-rank-v1",
            rate_public=Decimal("0.10"),
            rate_residential=Decimal("0.05"),
            population={"residential": [drawn.id]},
            population_sha256="0" * 64,
            sample={"residential": [drawn.id]},
            team="联合检查组一组",
            due_on=TODAY + timedelta(days=14),
            drawn_by_id=town["users"]["fire"].id,
            drawn_by="支队",
        )
        db.session.add(draw)
        db.session.flush()
        db.session.add(
            SpotCheckTask(spot_check_id=draw.id, building_id=drawn.id, sample_group="residential")
        )
        db.session.commit()
    # The street office of the building hears; the detachment drew it; the manager is not
    # warned of an unannounced check.
    assert recipients(app, kind="spot_check_task") == {"street"}
    [task] = [n for n in inbox(app, "street") if n.kind == "spot_check_task"]
    with app.test_request_context():
        title, detail = notifications.describe(task)
        assert title == f"抽查任务：{drawn.name}"
        assert "联合检查组一组" in detail and str(TODAY + timedelta(days=14)) in detail
        assert notifications.target_url(task).endswith(
            f"/buildings/{drawn.id}/inspections/new?kind=spot_check"
        )
