"""What the ledger exports: XLSX (summary + detail sheets, Chinese headers), CSV with a BOM,
and PDFs with the Chinese font embedded, read back with openpyxl and poppler."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from inspect_app.db import db
from inspect_app.models import Hazard, HazardEvent, Photo, Supervision, User

from .conftest import login

poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils is installed by scripts/test.sh"
)


@pytest.fixture
def ledger_site(app, district):
    """Hazards in both streets, one of them with a formula-looking description."""
    rows = [
        ("S1G1", "open", "general", "疏散通道堆放杂物", -3),
        ("S1G1", "closed", "minor", "灭火器过期", 5),
        ("S1G2", "submitted", "major", "室内消火栓无水", 10),
        ("S2G1", "open", "general", '=HYPERLINK("http://x")', 4),
    ]
    with app.app_context():
        for grid, status, severity, description, days in rows:
            db.session.add(
                Hazard(
                    building_id=district["buildings"][grid].id,
                    category="LIFE" if severity != "major" else "FAC",
                    severity=severity,
                    description=description,
                    responsible_party="测试物业公司",
                    status=status,
                    deadline=date.today() + timedelta(days=days),
                    closed_at=datetime.now(UTC) if status == "closed" else None,
                )
            )
        db.session.commit()
    return district


def test_xlsx_has_a_summary_and_a_detail_sheet(app, client, ledger_site):
    login(client, "fire")
    r = client.get("/ledger/export.xlsx?level=street")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data), read_only=True)
    assert wb.sheetnames == ["汇总", "明细"]
    summary = [row for row in wb["汇总"].iter_rows(values_only=True)]
    assert summary[0][0].startswith("整改台账 测试区")
    header = next(row for row in summary if row and row[0] == "编码")
    assert header[1] == "街道（镇）" and "整改率" in header and "反弹" in header
    by_code = {row[0]: row for row in summary if row and row[0] in ("S1", "S2")}
    found = header.index("发现隐患")
    assert by_code["S1"][found] == 3 and by_code["S2"][found] == 1
    total = next(row for row in summary if len(row) > 1 and str(row[1]).startswith("合计"))
    assert total[found] == 4 and total[header.index("已销号")] == 1
    detail = list(wb["明细"].iter_rows(values_only=True))
    assert detail[0][:5] == ("隐患编号", "街道（镇）", "社区", "网格", "楼栋编码")
    assert len(detail) == 5
    descriptions = {row[10] for row in detail[1:]}
    assert "室内消火栓无水" in descriptions
    # A description that looks like a formula stays text.
    assert '\'=HYPERLINK("http://x")' in descriptions
    streets = {row[1] for row in detail[1:]}
    assert streets == {"S1街道", "S2街道"}


def test_export_follows_the_filters_on_screen(app, client, ledger_site):
    login(client, "fire")
    r = client.get("/ledger/export.xlsx?area=S1&overdue=1")
    wb = load_workbook(io.BytesIO(r.data), read_only=True)
    detail = list(wb["明细"].iter_rows(values_only=True))
    assert [row[10] for row in detail[1:]] == ["疏散通道堆放杂物"]
    assert "仅超期" in wb["汇总"]["A2"].value


def test_csv_is_utf8_with_bom_and_parses(app, client, ledger_site):
    login(client, "street")
    r = client.get("/ledger/export.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["编码", "社区", "楼栋数"]
    assert rows[-1][1] == "合计（S1街道）"
    r = client.get("/ledger/export.csv?part=detail")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][0] == "隐患编号" and len(rows) == 4  # S1 only: the street's scope
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    assert client.get("/ledger/export.csv?part=everything").status_code == 400


def test_inspectors_and_managers_cannot_export(app, client, ledger_site):
    login(client, "inspector")
    assert client.get("/ledger/export.csv").status_code == 403
    assert client.get("/ledger/export.xlsx").status_code == 403


def _pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode("utf-8")


def _pdf_fonts(data: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdffonts", str(path)], capture_output=True, check=True, text=True
    ).stdout


@poppler
def test_building_plan_pdf_has_embedded_chinese_text_and_photos(app, client, ledger_site, tmp_path):
    b = ledger_site["buildings"]["S1G1"]
    with app.app_context():
        hazard_id = db.session.scalar(select(Hazard.id).where(Hazard.building_id == b.id))
        db.session.add(
            HazardEvent(
                hazard_id=hazard_id, action="created", to_status="open", note="列入整改清单"
            )
        )
        db.session.commit()
    # A photo on the hazard: the PDF carries its thumbnail.
    login(client, "inspector")
    buf = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 20, 20)).save(buf, "JPEG")
    up = client.post(
        "/api/v1/photos",
        data={"photo": (io.BytesIO(buf.getvalue()), "p.jpg")},
        content_type="multipart/form-data",
        headers={"X-CSRFToken": _csrf(client)},
    )
    assert up.status_code == 201
    with app.app_context():
        photo = db.session.scalar(select(Photo))
        photo.hazard_id = hazard_id
        db.session.commit()
    r = client.get(f"/buildings/{b.id}/plan.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF")
    text = _pdf_text(r.data)
    assert "一楼一策" in text and b.name in text and "疏散通道堆放杂物" in text
    assert "列入整改清单" in text  # the history is in it
    fonts = _pdf_fonts(r.data, tmp_path)
    cjk = [line for line in fonts.splitlines() if "CJK" in line or "WenQuanYi" in line]
    assert cjk and all(" yes " in line for line in cjk)  # embedded
    html = client.get(f"/buildings/{b.id}/plan").get_data(as_text=True)
    assert "“一楼一策”整改清单" in html and "ledger.css" in html


def _csrf(client):
    from .conftest import csrf_from

    return csrf_from(client, "/")


@poppler
def test_supervision_notice_pdf(app, client, ledger_site, tmp_path):
    b = ledger_site["buildings"]["S1G2"]
    with app.app_context():
        hazard = db.session.scalar(select(Hazard).where(Hazard.building_id == b.id))
        fire = db.session.get(User, ledger_site["users"]["fire"].id)
        s = Supervision(
            building_id=b.id,
            issues="室内消火栓无水",
            plan="修复消防水泵",
            responsible_person="王五",
            deadline=date.today() + timedelta(days=30),
            report_by=date.today() + timedelta(days=10),
            created_by_id=fire.id,
        )
        db.session.add(s)
        db.session.flush()
        hazard.supervision_id = s.id
        hazard.supervised_at = datetime.now(UTC)
        db.session.commit()
        sid = s.id
    login(client, "street")
    r = client.get(f"/supervisions/{sid}.pdf")
    assert r.status_code == 200
    text = _pdf_text(r.data)
    assert "督办通知书" in text and "王五" in text and "修复消防水泵" in text
    assert f"{sid:04d}号" in text
    fonts = _pdf_fonts(r.data, tmp_path)
    assert "yes" in fonts
    switch_user = client.post("/logout", data={"csrf_token": _csrf(client)})
    assert switch_user.status_code in (302, 303)
    login(client, "inspector")  # grid S1G1: the notice of S1G2 is out of scope
    assert client.get(f"/supervisions/{sid}.pdf").status_code == 404
