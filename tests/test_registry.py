"""The registry import with real files: every row checked before anything is written, every
problem reported with its row and column, a valid file applied whole, a second import of the
same file changing nothing, the importer's scope enforced."""

import io
import zipfile
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from inspect_app import registry
from inspect_app.models import Area, Building, User

from .registry_files import (
    AREA_HEADER,
    BUILDING_HEADER,
    USER_HEADER,
    building_row,
    snapshot,
    user_row,
    write_csv,
    write_xlsx,
)


def run(session, path, **kw):
    report = registry.import_registry(session, path, **kw)
    if report.applied:
        session.commit()
    else:
        session.rollback()
    return report


def problems(report):
    return [(p.sheet, p.row, p.column, p.message) for p in report.problems]


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_the_template_imports_cleanly_into_an_empty_database(db_session, tmp_path):
    path = tmp_path / "template.xlsx"
    registry.write_template(path)
    report = run(db_session, path)
    assert report.ok and report.applied, problems(report)
    assert (report.areas.created, report.buildings.created, report.users.created) == (4, 1, 1)
    building = db_session.scalar(select(Building))
    assert building.area.path == "/500110/GN/GN01/GN01-01/"
    assert building.height_m == Decimal("54.30") and building.building_class == "R1"
    assert building.has_sprinklers and not building.has_refuge_floor
    user = db_session.scalar(select(User))
    assert user.role == "inspector" and user.area.code == "GN01-01"
    [(username, password)] = report.passwords
    assert username == user.username and check_password_hash(user.password_hash, password)


def test_a_valid_file_creates_areas_buildings_and_users(db_session, district, tmp_path):
    path = write_xlsx(
        tmp_path / "street.xlsx",
        {
            "区域": [
                AREA_HEADER,
                ["S1C2", "新社区", "社区", "S1"],
                ["S1C2G1", "新社区一网格", "网格", "S1C2"],
            ],
            "楼栋": [
                BUILDING_HEADER,
                building_row("N-1", "S1C2G1", use="公共建筑", height_m=30, has_control_room="是"),
                building_row("N-2", "S1G2", management_unit=None, multi_owner="是"),
            ],
            "用户": [
                USER_HEADER,
                user_row("newgrid", area="S1C2G1", password="secret-pw-1"),
                user_row("wuye", role="物业", area=None, buildings="N-1、N-2"),
            ],
        },
    )
    report = run(db_session, path)
    assert report.ok, problems(report)
    assert (report.areas.created, report.buildings.created, report.users.created) == (2, 2, 2)
    grid = db_session.scalar(select(Area).where(Area.code == "S1C2G1"))
    assert grid.path == "/D/S1/S1C2/S1C2G1/" and grid.level == "grid"
    n1 = db_session.scalar(select(Building).where(Building.code == "N-1"))
    assert n1.area_id == grid.id and n1.use == "public" and n1.building_class == "P2"
    assert "has_control_room" in n1.flags
    n2 = db_session.scalar(select(Building).where(Building.code == "N-2"))
    assert n2.multi_owner and n2.management_unit is None
    manager = db_session.scalar(select(User).where(User.username == "wuye"))
    assert manager.role == "manager" and sorted(b.code for b in manager.managed_buildings) == [
        "N-1",
        "N-2",
    ]
    inspector = db_session.scalar(select(User).where(User.username == "newgrid"))
    assert check_password_hash(inspector.password_hash, "secret-pw-1")
    assert [u for u, _ in report.passwords] == ["wuye"]


def test_importing_the_same_file_again_changes_nothing(db_session, district, tmp_path):
    path = write_xlsx(
        tmp_path / "again.xlsx",
        {
            "区域": [AREA_HEADER, ["S1C2", "新社区", "社区", "S1"]],
            "楼栋": [BUILDING_HEADER]
            + [building_row(f"R-{n}", "S1C2", height_m=27 + n / 7) for n in range(30)],
            "用户": [
                USER_HEADER,
                user_row("wuye", role="物业", area=None, buildings="R-1 R-2"),
                user_row("grid2", area="S1C2", password="another-pw"),
            ],
        },
    )
    first = run(db_session, path)
    assert first.ok and first.buildings.created == 30
    before = snapshot(db_session)
    again = run(db_session, path)
    assert again.ok, problems(again)
    assert (again.areas.created, again.areas.updated, again.areas.unchanged) == (0, 0, 1)
    assert (again.buildings.created, again.buildings.updated, again.buildings.unchanged) == (
        0,
        0,
        30,
    )
    assert (again.users.created, again.users.updated, again.users.unchanged) == (0, 0, 2)
    assert again.passwords == []
    db_session.expire_all()
    assert snapshot(db_session) == before


def test_a_changed_row_updates_that_building_only(db_session, district, tmp_path):
    rows = [building_row(f"U-{n}", "S1G1") for n in range(5)]
    run(db_session, write_xlsx(tmp_path / "a.xlsx", {"楼栋": [BUILDING_HEADER, *rows]}))
    tokens = dict(db_session.execute(select(Building.code, Building.qr_token)).all())
    rows[2] = building_row("U-2", "S1G2", height_m=27, fire_manager_name=None)
    report = run(db_session, write_xlsx(tmp_path / "b.xlsx", {"楼栋": [BUILDING_HEADER, *rows]}))
    assert (report.buildings.updated, report.buildings.unchanged) == (1, 4)
    changed = db_session.scalar(select(Building).where(Building.code == "U-2"))
    assert changed.area.code == "S1G2" and changed.height_m == Decimal("27.00")
    assert changed.fire_manager_name is None and changed.building_class is None
    # The public code of a building survives an update: posters already printed stay valid.
    assert dict(db_session.execute(select(Building.code, Building.qr_token)).all()) == tokens


def test_columns_absent_from_the_file_keep_their_stored_values(db_session, district, tmp_path):
    b = district["buildings"]["S1G1"]
    short = [
        "楼栋编码",
        "楼栋名称",
        "地址",
        "所属区域编码",
        "使用性质",
        "建筑高度（米）",
        "地上层数",
    ]
    path = write_xlsx(
        tmp_path / "short.xlsx",
        {"楼栋": [short, [b.code, "改名了", b.address, "S1G1", "住宅", 60, 20]]},
    )
    report = run(db_session, path)
    assert report.buildings.updated == 1
    stored = db_session.scalar(select(Building).where(Building.code == b.code))
    assert stored.name == "改名了" and stored.storeys == 20
    assert stored.management_unit == "测试物业公司"  # not a column of this file


def test_a_file_with_one_bad_row_changes_nothing(db_session, district, tmp_path):
    before = snapshot(db_session)
    good = [building_row(f"G-{n}", "S1C9") for n in range(20)]
    path = write_xlsx(
        tmp_path / "bad.xlsx",
        {
            "区域": [AREA_HEADER, ["S1C9", "新社区", "社区", "S1"]],
            "楼栋": [
                BUILDING_HEADER,
                *good[:10],
                building_row("G-X", height_m="二十七"),
                *good[10:],
            ],
            "用户": [USER_HEADER, user_row("someone")],
        },
    )
    report = run(db_session, path)
    assert not report.ok and not report.applied
    assert problems(report) == [("楼栋", 12, "建筑高度（米）", "必须是数字（米），例如 54.3")]
    # The rest of the file was fine and is counted, but none of it was written.
    assert report.buildings.created == 0 and report.areas.created == 0
    db_session.expire_all()
    assert snapshot(db_session) == before


BAD_ROWS = [
    pytest.param(
        {"楼栋": [BUILDING_HEADER, building_row("D-1"), building_row("D-2"), building_row("D-1")]},
        ("楼栋", 4, "楼栋编码", "“D-1”与第 2 行重复"),
        id="duplicate-code",
    ),
    pytest.param(
        {"楼栋": [BUILDING_HEADER, building_row("D-1", "NOWHERE")]},
        ("楼栋", 2, "所属区域编码", "区域“NOWHERE”不存在（系统和区域表中都没有）"),
        id="unknown-area",
    ),
    pytest.param(
        {"楼栋": [BUILDING_HEADER, building_row("D-1", height_m="27米高")]},
        ("楼栋", 2, "建筑高度（米）", "必须是数字（米），例如 54.3"),
        id="height-not-a-number",
    ),
    pytest.param(
        {"楼栋": [BUILDING_HEADER, building_row("D-1", height_m=0)]},
        ("楼栋", 2, "建筑高度（米）", "必须大于 0 且不超过 1000"),
        id="height-zero",
    ),
    pytest.param(
        {"楼栋": [BUILDING_HEADER, building_row("D-1", storeys=18.5)]},
        ("楼栋", 2, "地上层数", "必须是整数"),
        id="storeys-fraction",
    ),
    pytest.param(
        {"楼栋": [BUILDING_HEADER, building_row("D-1", use="宿舍楼")]},
        ("楼栋", 2, "使用性质", "应为以下之一：住宅、公共建筑、商住混合"),
        id="unknown-use",
    ),
    pytest.param(
        {"楼栋": [BUILDING_HEADER, building_row("D-1", has_sprinklers="也许")]},
        ("楼栋", 2, "自动喷水灭火系统", "请填写“是”或“否”"),
        id="not-yes-or-no",
    ),
    pytest.param(
        {"楼栋": [BUILDING_HEADER, building_row("D-1", name=None)]},
        ("楼栋", 2, "楼栋名称", "必填"),
        id="required-blank",
    ),
    pytest.param(
        {"楼栋": [BUILDING_HEADER, building_row("D-1", address="路" * 201)]},
        ("楼栋", 2, "地址", "不能超过 200 个字符"),
        id="too-long",
    ),
    pytest.param(
        {"楼栋": [BUILDING_HEADER, building_row("D 1")]},
        ("楼栋", 2, "楼栋编码", "编码不能含空格或“/”"),
        id="code-with-space",
    ),
    pytest.param(
        {"楼栋": [BUILDING_HEADER, building_row("D-1", fire_manager_phone="找物业")]},
        ("楼栋", 2, "消防安全管理人电话", "不是有效的电话号码"),
        id="bad-phone",
    ),
    pytest.param(
        {"楼栋": [BUILDING_HEADER[:5] + BUILDING_HEADER[6:], building_row("D-1")[:5]]},
        ("楼栋", 1, "建筑高度（米）", "缺少必填列"),
        id="missing-column",
    ),
    pytest.param(
        {"区域": [AREA_HEADER, ["X1", "甲", "社区", "X2"], ["X2", "乙", "社区", "X1"]]},
        ("区域", 3, "上级区域编码", "上级区域“X1”形成循环"),
        id="area-cycle",
    ),
    pytest.param(
        {"区域": [AREA_HEADER, ["X1", "甲", "街镇", "S1"]]},
        ("区域", 2, "层级", "层级必须低于上级区域的层级"),
        id="area-level-not-below-parent",
    ),
    pytest.param(
        {"区域": [AREA_HEADER, ["S1G1", "S1G1网格", "网格", "S2C"]]},
        ("区域", 2, "上级区域编码", "区域“S1G1”已存在，上级为“S1C”；导入不能移动区域"),
        id="area-move",
    ),
    pytest.param(
        {"区域": [AREA_HEADER, ["X1", "甲", "片区", "S1"]]},
        ("区域", 2, "层级", "应为以下之一：市、区县、街镇、社区、网格"),
        id="area-unknown-level",
    ),
    pytest.param(
        {"用户": [USER_HEADER, user_row("wy", role="物业", area="S1G1", buildings="B-00001")]},
        ("用户", 2, "管辖区域编码", "物业用户按管理楼栋划定范围，管辖区域请留空"),
        id="manager-with-area",
    ),
    pytest.param(
        {"用户": [USER_HEADER, user_row("wy", area=None)]},
        ("用户", 2, "管辖区域编码", "该角色需要填写管辖区域编码"),
        id="inspector-without-area",
    ),
    pytest.param(
        {"用户": [USER_HEADER, user_row("wy", role="物业", area=None, buildings="NOPE")]},
        ("用户", 2, "管理楼栋编码", "楼栋“NOPE”不存在或不在您的管辖范围内"),
        id="manager-unknown-building",
    ),
    pytest.param(
        {"用户": [USER_HEADER, user_row("王 伟")]},
        ("用户", 2, "用户名", "只能用 2 到 64 个字母、数字或 _ . - @"),
        id="bad-username",
    ),
    pytest.param(
        {"用户": [USER_HEADER, user_row("wy", password="short")]},
        ("用户", 2, "初始密码", "密码应为 8 到 128 个字符"),
        id="short-password",
    ),
]


@pytest.mark.parametrize(("sheets", "expected"), BAD_ROWS)
def test_each_kind_of_bad_row_is_reported_where_it_is(
    db_session, district, tmp_path, sheets, expected
):
    before = snapshot(db_session)
    report = run(db_session, write_xlsx(tmp_path / "bad.xlsx", sheets))
    assert expected in problems(report), problems(report)
    db_session.expire_all()
    assert snapshot(db_session) == before


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "不支持旧版 .xls 格式"),
        ("scan.pdf", b"%PDF-1.7\n...", "不支持的文件类型“.pdf”"),
        ("broken.xlsx", b"this is not a workbook", "文件不是有效的 Excel 工作簿"),
        ("letter.docx", _zip({"word/document.xml": b"<w/>"}), "文件不是有效的 Excel 工作簿"),
        ("empty.csv", b"", "文件是空的"),
        ("binary.csv", b"\x00\x01\x02\x03" * 50, "文件不是 .xlsx 或 .csv 表格文件"),
        ("other.csv", "姓名,年龄\n张三,30\n".encode(), "文件中没有找到区域、楼栋或用户表"),
    ],
)
def test_files_that_are_not_registry_tables_get_one_clear_message(
    db_session, tmp_path, name, content, message
):
    path = tmp_path / name
    path.write_bytes(content)
    report = run(db_session, path)
    [problem] = report.problems
    assert problem.row is None and message in problem.message, problem


def test_an_inflating_workbook_is_refused_before_it_is_parsed(db_session, tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "big.xlsx", {"楼栋": [BUILDING_HEADER, building_row("Z-1")]})
    # The real cap is 1 GiB; a small cap shows the check reads the zip directory, not the XML.
    monkeypatch.setattr(registry.files, "MAX_UNCOMPRESSED_BYTES", 1000)
    report = run(db_session, path)
    assert [p.message for p in report.problems] == ["工作簿解压后过大，请拆分成多个文件分批导入"]


def test_a_file_over_the_row_limit_is_refused_and_nothing_is_written(
    db_session, district, tmp_path
):
    rows = [building_row(f"L-{n}") for n in range(12)]
    path = write_xlsx(tmp_path / "long.xlsx", {"楼栋": [BUILDING_HEADER, *rows]})
    report = run(db_session, path, max_rows=10)
    assert "文件超过 10 行数据，请拆分成多个文件分批导入" in [p.message for p in report.problems]
    assert count(db_session, Building) == 8


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_in_the_encodings_excel_writes(db_session, district, tmp_path, encoding):
    path = write_csv(
        tmp_path / "buildings.csv",
        [BUILDING_HEADER, building_row("C-1", name="滨江花园１栋"), building_row("C-2")],
        encoding=encoding,
    )
    report = run(db_session, path)
    assert report.ok and report.buildings.created == 2, problems(report)
    assert db_session.scalar(select(Building.name).where(Building.code == "C-1")) == "滨江花园１栋"
    again = run(db_session, path)
    assert again.buildings.unchanged == 2


def test_csv_errors_name_the_row_a_spreadsheet_shows(db_session, district, tmp_path):
    path = write_csv(
        tmp_path / "b.csv", [BUILDING_HEADER, building_row("C-1"), building_row("C-2", storeys="x")]
    )
    assert problems(run(db_session, path)) == [("b", 3, "地上层数", "必须是整数")]


def test_numbers_typed_as_numbers_and_lenient_spellings(db_session, district, tmp_path):
    path = write_xlsx(
        tmp_path / "numbers.xlsx",
        {
            # A title row above the header, and header spellings people use.
            "Sheet1": [
                ["綦江区高层建筑台账（2024 年 3 月）"],
                [
                    "楼栋编码*",
                    "建筑名称",
                    "详细地址",
                    "网格编码",
                    "使用性质",
                    "建筑高度(米)",
                    "层数",
                ],
                [500110001, "一号楼", "某路1号", "S1G1", "residential", 27.999, "18层"],
                [500110002, "二号楼", "某路2号", "S1G1", " 商住楼 ", "24.5m", 9.0],
            ],
        },
    )
    report = run(db_session, path)
    assert report.ok, problems(report)
    one = db_session.scalar(select(Building).where(Building.code == "500110001"))
    assert one.height_m == Decimal("28.00") and one.storeys == 18 and one.building_class == "R2"
    two = db_session.scalar(select(Building).where(Building.code == "500110002"))
    assert two.use == "mixed" and two.height_m == Decimal("24.50") and two.storeys == 9


def test_unknown_columns_are_ignored_and_listed(db_session, district, tmp_path):
    header = [*BUILDING_HEADER, "备注"]
    path = write_xlsx(tmp_path / "x.xlsx", {"楼栋": [header, [*building_row("K-1"), "随便写"]]})
    report = run(db_session, path)
    assert report.ok and report.ignored == ["楼栋：备注"]


def test_two_building_sheets_are_refused(db_session, district, tmp_path):
    sheets = {"楼栋": [BUILDING_HEADER, building_row("A-1")], "楼栋2": [BUILDING_HEADER]}
    report = run(db_session, write_xlsx(tmp_path / "two.xlsx", sheets))
    assert ("楼栋2", 1, None, "文件中已有楼栋表（工作表“楼栋”），每种表只能有一张") in problems(
        report
    )


def test_a_street_imports_only_inside_its_street(db_session, district, tmp_path):
    street = db_session.get(User, district["users"]["street"].id)
    outside = district["buildings"]["S2G1"].code
    path = write_xlsx(
        tmp_path / "street.xlsx",
        {
            "区域": [
                AREA_HEADER,
                ["S1C5", "一街新社区", "社区", "S1"],
                ["S2C5", "二街新社区", "社区", "S2"],
                ["TOP", "顶级", "市", None],
            ],
            "楼栋": [
                BUILDING_HEADER,
                building_row("S-1", "S1C5"),
                building_row("S-2", "S2G1"),
                building_row(outside, "S1G1"),
            ],
            "用户": [
                USER_HEADER,
                user_row("g1", area="S1G1"),
                user_row("boss", role="消防", area="S1"),
                user_row("fire", role="网格员", area="S1G1"),
            ],
        },
    )
    report = run(db_session, path, actor=street)
    found = problems(report)
    assert ("区域", 3, "上级区域编码", "只能在您的管辖范围内新建区域") in found
    assert ("区域", 4, "上级区域编码", "只有命令行导入可以新建顶级区域") in found
    assert ("楼栋", 3, "所属区域编码", "区域“S2G1”不在您的管辖范围内") in found
    assert ("楼栋", 4, "楼栋编码", f"编码“{outside}”已被您管辖范围之外的楼栋使用") in found
    assert ("用户", 3, "角色", "您不能创建或修改该角色的用户") in found
    assert ("用户", 4, "用户名", "用户“fire”已存在，您无权修改") in found
    assert len(found) == 6
    assert report.areas.created == 1 and report.buildings.created == 1 and report.users.created == 1
    assert not report.applied


def test_users_are_updated_by_username_and_their_passwords_never_change(
    db_session, district, tmp_path
):
    codes = [district["buildings"]["S1G1"].code, district["buildings"]["S1G2"].code]
    path = write_xlsx(
        tmp_path / "users.xlsx",
        {
            "用户": [
                USER_HEADER,
                user_row("inspector", area="S1G2", display_name="改名", password="new-password-1"),
                user_row("manager", role="物业", area=None, buildings=" ".join(codes)),
            ]
        },
    )
    before = {u.username: u for u in db_session.scalars(select(User))}
    hashes = {name: u.password_hash for name, u in before.items()}
    report = run(db_session, path)
    assert (report.users.updated, report.users.created) == (2, 0), problems(report)
    db_session.expire_all()
    inspector = db_session.scalar(select(User).where(User.username == "inspector"))
    assert inspector.area.code == "S1G2" and inspector.display_name == "改名"
    assert inspector.password_hash == hashes["inspector"]
    manager = db_session.scalar(select(User).where(User.username == "manager"))
    assert sorted(b.code for b in manager.managed_buildings) == sorted(codes)
    assert run(db_session, path).users.unchanged == 2


def test_read_file_streams_and_reports_progress(tmp_path):
    rows = [building_row(f"P-{n}") for n in range(1200)]
    path = write_xlsx(tmp_path / "p.xlsx", {"楼栋": [BUILDING_HEADER, *rows]})

    class Recorder:
        def __init__(self):
            self.events = []

        def begin(self, label, total):
            self.events.append(("begin", label, total))

        def advance(self, n):
            self.events.append(("advance", n))

        def end(self):
            self.events.append(("end",))

    recorder = Recorder()
    parsed = registry.read_file(path, progress=recorder)
    assert parsed.report.ok and len(parsed.tables["buildings"].rows) == 1200
    assert ("begin", "校验楼栋表", 1200) in recorder.events
    assert sum(e[1] for e in recorder.events if e[0] == "advance") == 1200


def test_blank_rows_are_skipped_and_do_not_count_towards_the_limit(db_session, district, tmp_path):
    blank = [None] * len(BUILDING_HEADER)
    rows = [building_row("E-1"), blank, blank, building_row("E-2"), blank, building_row("E-3")]
    path = write_xlsx(tmp_path / "gaps.xlsx", {"楼栋": [BUILDING_HEADER, *rows, blank, blank]})
    report = run(db_session, path, max_rows=3)
    assert report.ok and report.buildings.created == 3, problems(report)


def test_an_area_table_needs_its_parent_column(db_session, district, tmp_path):
    path = write_xlsx(
        tmp_path / "areas.xlsx",
        {"区域": [["区域编码", "区域名称", "层级"], ["S1G1", "S1G1网格", "网格"]]},
    )
    assert problems(run(db_session, path)) == [("区域", 1, "上级区域编码", "缺少必填列")]


def test_a_workbook_damaged_inside_a_sheet_gets_one_message(db_session, district, tmp_path):
    good = write_xlsx(
        tmp_path / "good.xlsx",
        {"楼栋": [BUILDING_HEADER, *[building_row(f"H-{n}") for n in range(50)]]},
    )
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(damaged, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # cut in the middle of the rows
            target.writestr(info, data)
    before = snapshot(db_session)
    report = run(db_session, damaged)
    assert [p.message for p in report.problems][-1] == (
        "工作表“楼栋”已损坏，无法读取，请在 Excel 中另存后重试"
    )
    assert not report.applied
    db_session.expire_all()
    assert snapshot(db_session) == before
