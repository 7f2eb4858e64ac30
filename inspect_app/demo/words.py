"""The words of the demo district: place names, estates, companies and people; where in a
building a problem is seen; how rectification is funded; the generic measures.

Streets and communities are those of 綦江区 or plausible for it; roads, estates and companies
are invented for the demo.
"""

from __future__ import annotations

import random

STREETS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "GN",
        "古南街道",
        ("中山路社区", "沙溪社区", "桥河社区", "九龙社区"),
        ("滨河路", "沿河路", "中山路", "九龙大道", "沙溪路", "桥河路", "北街"),
    ),
    (
        "WL",
        "文龙街道",
        ("文龙社区", "沱湾社区", "双龙社区", "营盘山社区"),
        ("文龙大道", "金福路", "双龙路", "沱湾路", "营盘山路", "綦河路"),
    ),
    (
        "TH",
        "通惠街道",
        ("通惠社区", "南州社区", "河东社区", "陵园社区"),
        ("通惠大道", "南州大道", "河东路", "陵园路", "新华路"),
    ),
    (
        "XS",
        "新盛街道",
        ("新盛社区", "盛和社区", "永丰社区", "工业园社区"),
        ("新盛大道", "盛和路", "永丰路", "工业园路", "綦齿路"),
    ),
    (
        "SJ",
        "三江街道",
        ("三江社区", "河西社区", "桥东社区", "綦江社区"),
        ("三江大道", "綦江大道", "重庆南路", "河西路", "桥东路"),
    ),
    (
        "YX",
        "永新镇",
        ("永新社区", "场镇社区", "长生社区"),
        ("永新大道", "场镇路", "长生路", "新街"),
    ),
)
GRID_NAMES = ("第一网格", "第二网格", "第三网格")
RESIDENTIAL_ESTATES = (
    "滨江花园",
    "金科天湖",
    "阳光水岸",
    "世纪江山",
    "东方明珠花园",
    "綦河湾",
    "九龙华府",
    "翠湖天地",
    "江南印象",
    "新城国际",
    "锦绣山庄",
    "沙溪新城",
    "北渡雅居",
    "香樟林",
    "御景湾",
    "书香苑",
    "南州名城",
    "金福苑",
    "紫御江山",
    "通惠佳苑",
    "盛和家园",
    "万家丽城",
    "中央公园",
    "滨河壹号",
    "和平花园",
    "凤凰城",
    "长江丽景",
    "桃源居",
    "天奇花园",
    "龙湾一号",
    "学府名苑",
    "东郡花园",
    "河滨春天",
    "锦江华庭",
    "綦江明珠",
    "龙腾佳苑",
    "福星花园",
    "半岛国际",
    "西城丽景",
    "宏帆广场花园",
)
ESTATE_PHASES = ("", "二期", "三期", "四期", "五期", "六期")
NAME_WORDS = (
    "金源",
    "华龙",
    "东部",
    "綦河",
    "九龙",
    "文龙",
    "通惠",
    "南州",
    "世纪",
    "国贸",
    "新盛",
    "滨江",
    "古南",
    "锦城",
    "恒通",
    "鼎盛",
    "兴隆",
    "嘉禾",
    "银河",
    "天城",
)
# (name template, class I by use, assembly occupancy). GB 50016 5.1.1: medical buildings and
# large shops/financial buildings are class I whatever their height.
PUBLIC_KINDS: tuple[tuple[str, bool, bool], ...] = (
    ("{w}大厦", False, False),
    ("{w}商务中心", False, False),
    ("{w}国际酒店", False, True),
    ("{w}商业广场", True, True),
    ("{w}购物中心", True, True),
    ("{w}医院住院综合楼", True, False),
    ("{w}公寓", False, False),
    ("{w}金融大厦", True, False),
)
MIXED_KINDS = ("{w}时代广场", "{w}中心", "{w}财富广场", "{w}商住楼", "万达广场")
COMPANIES = (
    "重庆綦鑫物业服务有限公司",
    "重庆河畔物业管理有限公司",
    "綦江区城投物业管理有限公司",
    "重庆锦程物业服务有限公司",
    "重庆安居乐物业管理有限公司",
    "重庆华庭物业服务有限公司",
    "重庆嘉禾物业管理有限公司",
    "重庆九龙物业服务有限公司",
    "重庆盛世商业管理有限公司",
    "重庆恒信物业服务有限公司",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "建国",
    "志强",
    "晓东",
    "红梅",
    "海燕",
    "国庆",
    "永红",
    "德明",
    "小平",
    "玉兰",
    "文斌",
    "春梅",
    "世林",
    "光荣",
)
FUNDING = {
    "managed": ("物业专项维修资金", "管理单位自筹", "业主共同承担", "物业服务费列支"),
    "public": ("管理单位自筹", "产权单位自筹", "经营单位自筹"),
    "unmanaged": ("财政专项资金", "老旧小区改造资金", "街道代管经费", "业主共同承担"),
}
# Where a problem of each item is typically seen ({u} unit, {f} floor, {d} side); items about
# paperwork or training have no place.
_STAIRS = ("{u}单元疏散楼梯间", "{u}单元{f}层走道")
_LANE = ("小区{d}侧消防车道", "小区入口道闸处")
_SHAFT = ("{u}单元{f}层电缆井", "{u}单元{f}层管道井")
_SPRINKLER = ("{u}单元末端试水装置", "地下车库末端试水装置")
LOCATIONS: dict[str, tuple[str, ...]] = {
    "FAC-01": ("屋顶试验消火栓",),
    "FAC-02": ("屋顶试验消火栓",),
    "FAC-03": ("{u}单元{f}层消火栓箱",),
    "FAC-04": ("{u}单元{f}层消火栓箱", "{u}单元{f}层灭火器箱"),
    "FAC-05": ("小区{d}侧室外消火栓", "小区{d}侧水泵接合器"),
    "FAC-06": ("负一层消防水泵房",),
    "FAC-07": ("屋顶消防水箱间", "负一层消防水池"),
    "FAC-08": _SPRINKLER,
    "FAC-16": _SPRINKLER,
    "FAC-17": _SPRINKLER,
    "FAC-09": ("消防控制室",),
    "FAC-10": ("{u}单元{f}层前室送风口", "屋顶排烟风机房"),
    "FAC-11": ("配电房气体灭火系统",),
    "FAC-12": ("{u}单元{f}层", "地下车库"),
    "FAC-13": ("{u}单元{f}层", "地下车库"),
    "FAC-14": ("{u}单元疏散楼梯间", "地下车库"),
    "FAC-15": ("{u}单元消防电梯",),
    "LIFE-01": _LANE,
    "LIFE-02": _LANE,
    "LIFE-12": _LANE,
    "LIFE-03": ("消防车登高操作场地",),
    "LIFE-04": ("地下车库",),
    "LIFE-05": _STAIRS,
    "LIFE-06": ("首层安全出口", "{u}单元屋顶出口"),
    "LIFE-07": ("{u}单元{f}层防火门", "{u}单元疏散楼梯间"),
    "LIFE-08": ("{u}单元{f}层常闭防火门",),
    "LIFE-09": ("地下车库防火卷帘", "裙楼防火卷帘"),
    "LIFE-10": ("避难层",),
    "LIFE-11": ("{u}单元{f}层外窗",),
    "ELEC-01": ("{u}单元首层门厅", "{u}单元{f}层走道"),
    "ELEC-02": ("{u}单元首层门厅", "{u}单元{f}层走道"),
    "ELEC-03": ("{u}单元电梯",),
    "ELEC-04": ("电动自行车集中充电棚",),
    "ELEC-05": ("{u}单元{f}层走道", "一楼架空层"),
    "ELEC-06": _SHAFT,
    "ELEC-07": _SHAFT,
    "ELEC-08": ("配电房", "{u}单元首层配电箱"),
    "ELEC-09": ("裙楼商铺", "{u}单元{f}层住户"),
    "ELEC-10": ("裙楼商铺",),
    "ELEC-11": ("裙楼餐饮商铺",),
    "BLDG-01": ("屋顶平台", "一楼架空层"),
    "BLDG-02": ("{u}单元{f}层",),
    "BLDG-03": ("裙楼商铺",),
    "BLDG-04": ("地下车库", "裙楼"),
    "BLDG-05": ("外墙",),
    "BLDG-06": ("外墙",),
    "BLDG-07": _STAIRS,
    "BLDG-08": ("负一层消防水泵房", "配电房"),
}
GENERIC_MEASURES = (
    "落实整改责任人和整改资金，限期整改；整改期间采取临时防范措施，整改完成后报验收。"
)


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _mobile(rng: random.Random) -> str:
    # 1380000xxxx-style numbers: obviously fake, never a real subscriber's.
    return f"{rng.choice(('138', '139', '137', '136'))}0000{rng.randrange(10_000):04d}"
