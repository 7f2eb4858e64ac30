"""``registry-template`` and ``import-registry``: the same checks as the web import, a progress
bar, the report on stderr and a non-zero exit when any row is wrong."""

from openpyxl import load_workbook
from sqlalchemy import func, select

from inspect_app.db import db
from inspect_app.models import Area, Building, User
from inspect_app.registry import BUILDINGS

from .registry_files import BUILDING_HEADER, building_row, write_xlsx


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _counts(app):
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(m)) for m in (Area, Building, User)
        )


def test_template_has_chinese_headers_an_example_and_notes(app, tmp_path):
    path = tmp_path / "模板.xlsx"
    result = _run(app, "registry-template", str(path))
    assert result.exit_code == 0, result.output
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["说明", "区域", "楼栋", "用户"]
    sheet = workbook["楼栋"]
    header = [c.value for c in sheet[1]]
    assert header == [c.header for c in BUILDINGS.columns]
    assert "楼栋编码" in header and "建筑高度（米）" in header
    example = [c.value for c in sheet[2]]
    assert example[0] == "QJ-GN-0001" and example[header.index("使用性质")] == "住宅"
    assert sheet.freeze_panes == "A2"
    # Choice columns carry a drop-down list of the allowed values.
    lists = [dv.formula1 for dv in sheet.data_validations.dataValidation]
    assert '"住宅,公共建筑,商住混合"' in lists and '"是,否"' in lists
    notes = "\n".join(str(r[0].value or "") for r in workbook["说明"].iter_rows())
    assert "整个文件都不会导入" in notes


def test_template_needs_an_xlsx_name(app, tmp_path):
    result = _run(app, "registry-template", str(tmp_path / "t.csv"))
    assert result.exit_code != 0 and "模板文件名应以 .xlsx 结尾" in result.output


def test_import_applies_a_valid_file_and_a_second_run_changes_nothing(app, tmp_path):
    template = tmp_path / "t.xlsx"
    _run(app, "registry-template", str(template))
    result = _run(app, "import-registry", str(template))
    assert result.exit_code == 0, result.output
    assert "导入完成：区域：新建 4，更新 0，未变 0；楼栋：新建 1" in result.output
    assert "新用户 wangwei 初始密码：" in result.output
    assert _counts(app) == (4, 1, 1)
    again = _run(app, "import-registry", str(template))
    assert again.exit_code == 0
    assert "区域：新建 0，更新 0，未变 4；楼栋：新建 0，更新 0，未变 1" in again.output
    assert "初始密码" not in again.output


def test_dry_run_reports_and_writes_nothing(app, district, tmp_path):
    path = write_xlsx(
        tmp_path / "b.xlsx", {"楼栋": [BUILDING_HEADER, building_row("N-1"), building_row("N-2")]}
    )
    before = _counts(app)
    result = _run(app, "import-registry", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "校验通过，未写入（--dry-run）：楼栋：新建 2，更新 0，未变 0" in result.output
    assert _counts(app) == before


def test_a_wrong_file_exits_non_zero_with_readable_lines(app, district, tmp_path):
    path = write_xlsx(
        tmp_path / "bad.xlsx",
        {
            "楼栋": [
                BUILDING_HEADER,
                building_row("N-1"),
                building_row("N-2", height_m="很高", area="NOPE"),
                building_row("N-1"),
            ]
        },
    )
    before = _counts(app)
    result = _run(app, "import-registry", str(path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "楼栋 · 第 3 行 · 建筑高度（米）：必须是数字（米），例如 54.3" in lines
    assert "楼栋 · 第 4 行 · 楼栋编码：“N-1”与第 2 行重复" in lines
    assert "Error: 文件有 2 个问题，未导入任何数据" in lines
    assert _counts(app) == before


def test_missing_and_unreadable_files(app, tmp_path):
    result = _run(app, "import-registry", str(tmp_path / "nope.xlsx"))
    assert result.exit_code != 0 and "文件不存在" in result.output
    (tmp_path / "x.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)
    result = _run(app, "import-registry", str(tmp_path / "x.xls"))
    assert result.exit_code == 1 and "不支持旧版 .xls 格式" in result.output


def test_the_row_limit_comes_from_the_configuration(app, district, tmp_path):
    rows = [building_row(f"L-{n}") for n in range(6)]
    path = write_xlsx(tmp_path / "l.xlsx", {"楼栋": [BUILDING_HEADER, *rows]})
    app.config["REGISTRY_MAX_ROWS"] = 5
    try:
        result = _run(app, "import-registry", str(path))
    finally:
        del app.config["REGISTRY_MAX_ROWS"]
    assert result.exit_code == 1 and "文件超过 5 行数据" in result.output
