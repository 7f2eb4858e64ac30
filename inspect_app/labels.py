"""Display names of the app's codes (roles, statuses, colours…), translated lazily."""

from flask_babel import lazy_gettext as _l

ROLE = {
    "inspector": _l("网格员"),
    "manager": _l("物业/管理单位"),
    "street": _l("街道办事处"),
    "fire": _l("消防救援支队"),
    "admin": _l("系统管理员"),
}
USE = {"residential": _l("住宅"), "public": _l("公共建筑"), "mixed": _l("商住混合")}
CLASS = {
    "R1": _l("一类高层住宅"),
    "R2": _l("二类高层住宅"),
    "P1": _l("一类高层公共建筑"),
    "P2": _l("二类高层公共建筑"),
    None: _l("非高层"),
}
COLOUR = {"red": _l("红码"), "yellow": _l("黄码"), "green": _l("绿码"), "grey": _l("灰码")}
STATUS = {
    "open": _l("待整改"),
    "submitted": _l("待验收"),
    "closed": _l("已销号"),
    "fixed_on_spot": _l("当场整改"),
}
SEVERITY = {"minor": _l("轻微"), "general": _l("一般"), "major": _l("重大")}
KIND = {
    "self_check": _l("单位自查"),
    "survey": _l("街镇排查"),
    "spot_check": _l("部门抽查"),
    "acceptance": _l("验收检查"),
    "patrol": _l("日常巡查"),
}
CATEGORY = {
    "FAC": _l("消防设施"),
    "LIFE": _l("生命通道"),
    "ELEC": _l("用电用气"),
    "BLDG": _l("建筑防火"),
    "MGMT": _l("日常管理"),
    "AWARE": _l("宣传教育"),
}
