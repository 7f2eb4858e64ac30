"""A property manager's self-service: the plan of their building, self-check, the public
commitment and rectification evidence; nothing of another manager's building."""

import io
import re

from sqlalchemy import select

from inspect_app.db import db
from inspect_app.models import Building, Hazard, HazardEvent, Inspection

from . import code_site as fixtures
from .code_site import add_hazard, jpeg, token_of
from .conftest import csrf_from, login

code_site = fixtures.code_site  # the fixture shared by the fire safety code tests


def manager_client(app, username="manager"):
    client = app.test_client()
    login(client, username)
    return client


def post_evidence(client, hazard_id, *, photos=(), note="已清理楼道并张贴告示", version=None):
    url = f"/manage/hazards/{hazard_id}/evidence"
    page = client.get(url).get_data(as_text=True)
    found = re.search(r'name="version"[^>]*value="(\d+)"', page)
    data = {
        "csrf_token": csrf_from(client, url),
        "note": note,
        "version": str(version) if version is not None else found.group(1),
        "photos": [(io.BytesIO(raw), name) for raw, name in photos],
    }
    return client.post(url, data=data, content_type="multipart/form-data")


def test_the_hub_lists_what_is_open_and_links_the_work(app, code_site):
    a = code_site["a"]
    add_hazard(app, a, description="楼道堆放纸箱", measures="清理堆物")
    add_hazard(app, a, description="已提交的问题", status="submitted")
    add_hazard(app, a, description="早已销号的问题", status="closed")
    client = manager_client(app)
    html = client.get(f"/manage/buildings/{a.id}").get_data(as_text=True)
    assert "楼道堆放纸箱" in html and "清理堆物" in html and "已提交的问题" in html
    assert "早已销号的问题" not in html
    assert html.count("上传整改材料") == 1  # only the open one
    assert f"/buildings/{a.id}/inspections/new?kind=self_check" in html
    assert f"/c/{token_of(app, a)}?public=1" in html


def test_self_check_is_recorded_as_a_self_check(app, code_site, checklist):
    a = code_site["a"]
    client = manager_client(app)
    page = client.get(f"/buildings/{a.id}/inspections/new?kind=self_check").get_data(as_text=True)
    assert 'value="self_check"' in page and 'value="survey"' not in page
    data = {
        "csrf_token": csrf_from(client, f"/buildings/{a.id}/inspections/new"),
        "client_uuid": re.search(r'name="client_uuid"[^>]*value="([^"]+)"', page).group(1),
        "kind": "self_check",
    }
    for n, item in enumerate(re.findall(r'name="findings-(\d+)-item"[^>]*value="([^"]+)"', page)):
        index, code = item
        data[f"findings-{index}-item"] = code
        if f'name="findings-{index}-value"' in page:
            data[f"findings-{index}-result"] = "na"
        else:
            data[f"findings-{index}-result"] = "pass"
        assert n == int(index)
    response = client.post(
        f"/buildings/{a.id}/inspections/new", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        inspection = db.session.scalar(select(Inspection))
        assert inspection.kind == "self_check" and inspection.inspector.username == "manager"


def test_the_commitment_is_written_and_shown_to_the_public(app, client, code_site):
    a = code_site["a"]
    manager = manager_client(app)
    url = f"/manage/buildings/{a.id}/commitment"
    empty = manager.post(url, data={"csrf_token": csrf_from(manager, url), "text": "  "})
    assert empty.status_code == 422 and "请填写承诺内容" in empty.get_data(as_text=True)
    too_long = manager.post(url, data={"csrf_token": csrf_from(manager, url), "text": "承" * 1001})
    assert too_long.status_code == 422 and "最多 1000 字" in too_long.get_data(as_text=True)
    text = "一、每日开展防火巡查。\n二、禁止电动自行车进楼充电。"
    response = manager.post(url, data={"csrf_token": csrf_from(manager, url), "text": text})
    assert response.status_code == 302
    assert "公示承诺已更新" in manager.get(response.headers["Location"]).get_data(as_text=True)
    body = client.get(f"/c/{token_of(app, a)}", headers={"Accept": "application/json"}).get_json()
    assert body["commitment"]["text"] == text and body["commitment"]["updated_on"]
    assert "一、每日开展防火巡查。" in manager.get(url).get_data(as_text=True)  # to edit further


def test_evidence_moves_the_hazard_to_awaiting_acceptance(app, code_site):
    a = code_site["a"]
    hazard_id = add_hazard(app, a, description="防火门闭门器损坏")
    client = manager_client(app)
    none = post_evidence(client, hazard_id)
    assert none.status_code == 422 and "请上传至少一张整改后照片" in none.get_data(as_text=True)
    bad = post_evidence(client, hazard_id, photos=[(b"GIF89a....", "x.gif")])
    assert bad.status_code == 422
    assert "第 1 张照片：文件不是 JPEG、PNG 或 WebP 图片" in bad.get_data(as_text=True)
    response = post_evidence(
        client, hazard_id, photos=[(jpeg(), "a.jpg"), (jpeg((0, 90, 0)), "b.jpg")]
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/manage/buildings/{a.id}"
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        assert hazard.status == "submitted"
        event = hazard.events[-1]
        assert event.action == "evidence_submitted" and event.actor.username == "manager"
        assert event.note == "已清理楼道并张贴告示"
        assert len(event.photos) == 2 and all(p.hazard_id == hazard_id for p in event.photos)
    # Already submitted: nothing more to send.
    again = post_evidence(client, hazard_id, photos=[(jpeg(), "c.jpg")], version=2)
    assert again.status_code == 409 and "正在等待验收" in again.get_data(as_text=True)


def test_a_stale_page_stores_nothing_and_shows_the_current_state(app, code_site):
    a = code_site["a"]
    hazard_id = add_hazard(app, a, description="消火栓箱被遮挡")
    client = manager_client(app)
    url = f"/manage/hazards/{hazard_id}/evidence"
    token = csrf_from(client, url)
    with app.app_context():  # someone else changes the plan meanwhile
        hazard = db.session.get(Hazard, hazard_id)
        hazard.measures = "移开遮挡物"
        db.session.commit()
        assert hazard.version == 2
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "note": "已移开",
            "version": "1",
            "photos": [(io.BytesIO(jpeg()), "a.jpg")],
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "已被他人更新" in html and "移开遮挡物" in html
    assert re.search(r'name="version"[^>]*value="2"', html)
    with app.app_context():
        assert db.session.get(Hazard, hazard_id).status == "open"
        assert (
            db.session.scalar(select(HazardEvent).where(HazardEvent.action == "evidence_submitted"))
            is None
        )


def test_a_manager_of_a_gets_404_for_everything_of_b(app, code_site):
    a, b = code_site["a"], code_site["b"]
    hazard_b = add_hazard(app, b, description="B 楼的问题")
    client = manager_client(app)
    token = csrf_from(client, f"/manage/buildings/{a.id}")
    for url in (
        f"/manage/buildings/{b.id}",
        f"/manage/buildings/{b.id}/commitment",
        f"/manage/hazards/{hazard_b}/evidence",
        f"/buildings/{b.id}/code",
        f"/buildings/{b.id}/code.png",
        f"/buildings/{b.id}/poster",
        f"/buildings/{b.id}/poster.pdf",
        f"/buildings/{b.id}",
    ):
        assert client.get(url).status_code == 404, url
    for url, data in (
        (f"/manage/buildings/{b.id}/commitment", {"text": "冒充"}),
        (f"/manage/hazards/{hazard_b}/evidence", {"note": "冒充", "version": "1"}),
    ):
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 404, url
    with app.app_context():
        assert db.session.get(Building, b.id).public_commitment is None
        assert db.session.get(Hazard, hazard_b).status == "open"
    # Other roles do not use the manager's pages at all.
    street = app.test_client()
    login(street, "street")
    assert street.get(f"/manage/buildings/{a.id}").status_code == 403
