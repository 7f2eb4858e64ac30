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
REPORT_STATUS = {"new": _l("待核实"), "confirmed": _l("已确认为隐患"), "dismissed": _l("不予采纳")}
# What each hazard event records (the history of a ledger row).
EVENT = {
    "created": _l("列入整改清单"),
    "fixed_on_spot": _l("当场整改"),
    "confirmed_present": _l("复查：仍存在"),
    "evidence_submitted": _l("提交整改材料"),
    "accepted": _l("验收销号"),
    "rejected": _l("验收不通过，退回整改"),
    "deadline_extended": _l("延长整改期限"),
    "plan_updated": _l("修改整改安排"),
    "supervised": _l("挂牌督办"),
}
SUPERVISION_STATUS = {"active": _l("督办中"), "closed": _l("已销案")}
REVIEW_DECISION = {"confirmed": _l("确认为重大火灾隐患"), "dismissed": _l("排除")}
# Building registry: the facts of a building as a change lists them, proposal statuses, levels.
FACT = {
    "name": _l("楼栋名称"),
    "address": _l("地址"),
    "area_id": _l("所属区域"),
    "built_year": _l("建成年份"),
    "class_i_by_use": _l("按使用功能属一类"),
    "management_unit": _l("管理单位"),
    "management_contact": _l("管理单位联系人及电话"),
    "fire_manager_name": _l("消防安全管理人"),
    "fire_manager_phone": _l("消防安全管理人电话"),
    "use": _l("使用性质"),
    "height_m": _l("建筑高度（米）"),
    "storeys": _l("地上层数"),
    "underground_storeys": _l("地下层数"),
    "multi_owner": _l("多业主或多使用人"),
    "has_sprinklers": _l("自动喷水灭火系统"),
    "has_fire_alarm_system": _l("火灾自动报警系统"),
    "has_control_room": _l("消防控制室"),
    "has_pressure_stabilizer": _l("消防稳压设施"),
    "has_refuge_floor": _l("避难层"),
    "has_fire_elevator": _l("消防电梯"),
    "has_gas_suppression": _l("气体灭火系统"),
    "has_assembly_occupancy": _l("人员密集场所"),
}
CHANGE_STATUS = {"pending": _l("待处理"), "accepted": _l("已采纳"), "rejected": _l("已退回")}
LEVEL = {
    "city": _l("市"),
    "district": _l("区县"),
    "street": _l("街镇"),
    "community": _l("社区"),
    "grid": _l("网格"),
}
BLIND_SPOT = {
    "no_unified_manager": _l("多业主无统一管理人"),
    "no_management_unit": _l("无管理单位"),
    "no_fire_manager": _l("未明确消防安全管理人"),
}
# Campaign oversight: phase kinds, the dashboard's measures, spot-check groups, standings in
# the acceptance round, reasons a hazard is a supervision candidate.
PHASE_KIND = {
    "mobilise": _l("动员部署"),
    "survey": _l("全面排查"),
    "rectify": _l("整治攻坚"),
    "consolidate": _l("巩固提升（逐栋验收）"),
    "other": _l("其他"),
}
MEASURE = {
    "survey_coverage": _l("排查覆盖率"),
    "rectification_rate": _l("整改率"),
    "acceptance_rate": _l("逐栋验收合格率"),
    "overdue": _l("超期未整改（少者靠前）"),
}
SAMPLE_GROUP = {"public": _l("公共建筑"), "residential": _l("住宅建筑")}
STANDING = {
    "awaiting": _l("待出验收结论"),
    "tracked": _l("验收不合格，跟踪督办"),
    "rectifying": _l("整改中"),
    "ready": _l("可验收"),
    "uninspected": _l("未检查"),
    "passed": _l("验收合格"),
}
CANDIDATE_REASON = {
    "major": _l("重大火灾隐患"),
    "overdue": _l("超期未整改"),
    "rebound": _l("反弹"),
    "rejected": _l("验收多次不合格"),
    "failed_acceptance": _l("逐栋验收多次不合格"),
}
