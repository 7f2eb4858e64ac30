"""The tables of a registry import file (区域, 楼栋, 用户): their columns with the Chinese
headers and accepted spellings, the kind of each cell, the allowed values, and the limits of
one import."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..models import AREA_LEVELS

MAX_ROWS = 100_000
BATCH = 1000
# SQLite before 3.32 allows 999 bound parameters per statement.
IN_CHUNK = 900

TEMPLATE_NOTE_SHEET = "说明"


@dataclass(frozen=True)
class Column:
    """One column of an import table.

    ``key`` names the value in a row; ``attr`` the model attribute it is stored in (None when
    the value is resolved in the plan: area codes, building codes, passwords). ``aliases`` are
    further accepted header spellings. ``choices`` maps accepted spellings to stored codes, the
    first spelling of each code being the one shown in the template.
    """

    key: str
    header: str
    kind: str
    required: bool = False
    attr: str | None = None
    max_len: int | None = None
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    choices: Mapping[str, str] | None = None
    aliases: tuple[str, ...] = ()
    hint: str = ""
    example: Any = None

    def allowed(self) -> str:
        """The allowed values, as shown in messages and in the template's notes."""
        shown: dict[str, str] = {}
        for label, code in (self.choices or {}).items():
            shown.setdefault(code, label)
        return "、".join(shown.values())


@dataclass(frozen=True)
class Table:
    kind: str
    title: str
    columns: tuple[Column, ...]
    # Headers that identify the table: every one of these column keys must be present.
    identify: tuple[str, ...]
    # Columns that must be present although their cells may be empty.
    needed: tuple[str, ...] = ()

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


USE_CHOICES = {
    "住宅": "residential",
    "公共建筑": "public",
    "商住混合": "mixed",
    "住宅建筑": "residential",
    "公建": "public",
    "商住楼": "mixed",
    "商住": "mixed",
    "residential": "residential",
    "public": "public",
    "mixed": "mixed",
}
LEVEL_CHOICES = {
    "市": "city",
    "区县": "district",
    "街镇": "street",
    "社区": "community",
    "网格": "grid",
    "区": "district",
    "县": "district",
    "街道": "street",
    "镇": "street",
    "乡": "street",
    "村": "community",
    **{level: level for level in AREA_LEVELS},
}
ROLE_CHOICES = {
    "网格员": "inspector",
    "物业": "manager",
    "街道": "street",
    "消防": "fire",
    "管理员": "admin",
    "排查人员": "inspector",
    "物业/管理单位": "manager",
    "管理单位": "manager",
    "街道办事处": "street",
    "镇政府": "street",
    "消防救援支队": "fire",
    "系统管理员": "admin",
    "inspector": "inspector",
    "manager": "manager",
    "street": "street",
    "fire": "fire",
    "admin": "admin",
}
YES = frozenset({"是", "有", "y", "yes", "true", "1", "√", "✓", "✔", "t"})
NO = frozenset({"否", "无", "没有", "n", "no", "false", "0", "×", "✗", "f", "-", "—"})

AREAS = Table(
    "areas",
    "区域",
    (
        Column(
            "code",
            "区域编码",
            "code",
            True,
            max_len=32,
            aliases=("area_code",),
            hint="唯一，不含“/”",
            example="500110",
        ),
        Column("name", "区域名称", "text", True, attr="name", max_len=100, example="綦江区"),
        Column(
            "level", "层级", "choice", True, attr="level", choices=LEVEL_CHOICES, example="区县"
        ),
        Column(
            "parent",
            "上级区域编码",
            "code",
            max_len=32,
            aliases=("parent_code",),
            hint="顶级区域留空；上级可以是系统中已有的区域，也可以在本表中",
            example=None,
        ),
    ),
    identify=("code", "level"),
    needed=("parent",),
)

_FLAG_COLUMNS = (
    ("multi_owner", "多业主或多使用人", "同一建筑有两个及以上业主或使用人"),
    ("has_sprinklers", "自动喷水灭火系统", ""),
    ("has_fire_alarm_system", "火灾自动报警系统", ""),
    ("has_control_room", "消防控制室", ""),
    ("has_pressure_stabilizer", "消防稳压设施", "稳压泵或稳压罐"),
    ("has_refuge_floor", "避难层", ""),
    ("has_fire_elevator", "消防电梯", ""),
    ("has_gas_suppression", "气体灭火系统", ""),
    ("has_assembly_occupancy", "人员密集场所", "商场、宾馆、医院等"),
    (
        "class_i_by_use",
        "按使用功能属一类",
        "医疗建筑、重要公共建筑等（GB 50016 表 5.1.1）；只对公共建筑有效",
    ),
)
_FLAG_EXAMPLES = {
    "has_sprinklers",
    "has_fire_alarm_system",
    "has_control_room",
    "has_pressure_stabilizer",
    "has_fire_elevator",
}

BUILDINGS = Table(
    "buildings",
    "楼栋",
    (
        Column(
            "code",
            "楼栋编码",
            "code",
            True,
            max_len=40,
            aliases=("建筑编码", "building_code"),
            hint="唯一；重复导入时按此编码匹配",
            example="QJ-GN-0001",
        ),
        Column(
            "name",
            "楼栋名称",
            "text",
            True,
            attr="name",
            max_len=120,
            aliases=("建筑名称",),
            example="滨河花园1栋",
        ),
        Column(
            "address",
            "地址",
            "text",
            True,
            attr="address",
            max_len=200,
            aliases=("详细地址",),
            example="古南街道新街路8号",
        ),
        Column(
            "area",
            "所属区域编码",
            "code",
            True,
            max_len=32,
            aliases=("网格编码", "area_code"),
            hint="通常是网格的区域编码",
            example="GN01-01",
        ),
        Column("use", "使用性质", "choice", True, attr="use", choices=USE_CHOICES, example="住宅"),
        Column(
            "height_m",
            "建筑高度（米）",
            "decimal",
            True,
            attr="height_m",
            minimum=Decimal("0"),
            maximum=Decimal("1000"),
            aliases=("建筑高度", "高度", "height_m"),
            hint="数字，保留两位小数",
            example=54.3,
        ),
        Column(
            "storeys",
            "地上层数",
            "int",
            True,
            attr="storeys",
            minimum=1,
            maximum=200,
            aliases=("层数", "storeys"),
            example=18,
        ),
        Column(
            "underground_storeys",
            "地下层数",
            "int",
            attr="underground_storeys",
            minimum=0,
            maximum=20,
            aliases=("underground_storeys",),
            hint="空白为 0",
            example=1,
        ),
        Column(
            "built_year",
            "建成年份",
            "int",
            attr="built_year",
            minimum=1900,
            maximum=2100,
            aliases=("built_year",),
            example=2008,
        ),
        Column(
            "management_unit",
            "管理单位",
            "text",
            attr="management_unit",
            max_len=120,
            aliases=("物业服务企业", "management_unit"),
            hint="物业服务企业或统一管理人；没有请留空",
            example="重庆某某物业服务有限公司",
        ),
        Column(
            "management_contact",
            "管理单位联系人及电话",
            "text",
            attr="management_contact",
            max_len=40,
            aliases=("管理单位联系电话", "management_contact"),
            example="023-48661234",
        ),
        Column(
            "fire_manager_name",
            "消防安全管理人",
            "text",
            attr="fire_manager_name",
            max_len=40,
            aliases=("fire_manager_name",),
            example="张明",
        ),
        Column(
            "fire_manager_phone",
            "消防安全管理人电话",
            "phone",
            attr="fire_manager_phone",
            max_len=40,
            aliases=("fire_manager_phone",),
            example="13800000000",
        ),
        *(
            Column(
                key,
                header,
                "bool",
                attr=key,
                aliases=(key,),
                hint=hint,
                example="是" if key in _FLAG_EXAMPLES else "否",
            )
            for key, header, hint in _FLAG_COLUMNS
        ),
    ),
    identify=("code",),
)

USERS = Table(
    "users",
    "用户",
    (
        Column(
            "username",
            "用户名",
            "username",
            True,
            max_len=64,
            aliases=("账号", "username"),
            hint="字母、数字和 _ . - @",
            example="wangwei",
        ),
        Column(
            "display_name",
            "姓名",
            "text",
            True,
            attr="display_name",
            max_len=64,
            aliases=("display_name",),
            example="王伟",
        ),
        Column(
            "phone",
            "手机号",
            "phone",
            attr="phone",
            max_len=40,
            aliases=("电话", "phone"),
            example="13900000000",
        ),
        Column(
            "role",
            "角色",
            "choice",
            True,
            attr="role",
            choices=ROLE_CHOICES,
            aliases=("role",),
            example="网格员",
        ),
        Column(
            "area",
            "管辖区域编码",
            "code",
            max_len=32,
            aliases=("area_code",),
            hint="网格员、街道、消防、管理员填写；物业留空",
            example="GN01-01",
        ),
        Column(
            "buildings",
            "管理楼栋编码",
            "codes",
            aliases=("building_codes",),
            hint="只有物业填写；多个编码用顿号、逗号或空格分隔",
            example=None,
        ),
        Column(
            "password",
            "初始密码",
            "password",
            aliases=("password",),
            hint="只用于新建用户，至少 8 位；留空则自动生成并在导入结果中显示一次；"
            "已有用户的密码不会被修改",
            example=None,
        ),
    ),
    identify=("username",),
)

TABLES = (AREAS, BUILDINGS, USERS)
