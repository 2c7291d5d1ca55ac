"""Place names of Chinese administrative divisions: full names, the short forms people use, and levels.

Pure. The 34 provincial-level divisions are listed (a fixed, public list: every
portal needs it to read "江苏", "宁夏" or "内蒙古" in a question); below that level,
a name is recognised by its suffix (苏州市, 吴江区, 太仓市, 巴东县) and shortened by
dropping it, so 苏州 and 苏州市 are one place.
"""

from __future__ import annotations

import re
from functools import cache

__all__ = ["PROVINCES", "ENGLISH", "canonical_place", "place_aliases", "places_in", "is_province"]

# Full name → the short form used in speech and titles (2025年宁夏政府工作报告, 广西壮族自治区).
PROVINCES: dict[str, str] = {
    "北京市": "北京", "天津市": "天津", "上海市": "上海", "重庆市": "重庆",
    "河北省": "河北", "山西省": "山西", "辽宁省": "辽宁", "吉林省": "吉林", "黑龙江省": "黑龙江",
    "江苏省": "江苏", "浙江省": "浙江", "安徽省": "安徽", "福建省": "福建", "江西省": "江西",
    "山东省": "山东", "河南省": "河南", "湖北省": "湖北", "湖南省": "湖南", "广东省": "广东",
    "海南省": "海南", "四川省": "四川", "贵州省": "贵州", "云南省": "云南", "陕西省": "陕西",
    "甘肃省": "甘肃", "青海省": "青海", "台湾省": "台湾",
    "内蒙古自治区": "内蒙古", "广西壮族自治区": "广西", "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏", "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港", "澳门特别行政区": "澳门",
}  # fmt: skip
_SHORT = {short: full for full, short in PROVINCES.items()}
# How English text names them (questions in English about Chinese reports).
ENGLISH: dict[str, str] = {
    "Beijing": "北京市", "Tianjin": "天津市", "Shanghai": "上海市", "Chongqing": "重庆市", "Hebei": "河北省",
    "Shanxi": "山西省", "Liaoning": "辽宁省", "Jilin": "吉林省", "Heilongjiang": "黑龙江省", "Jiangsu": "江苏省",
    "Zhejiang": "浙江省", "Anhui": "安徽省", "Fujian": "福建省", "Jiangxi": "江西省", "Shandong": "山东省",
    "Henan": "河南省", "Hubei": "湖北省", "Hunan": "湖南省", "Guangdong": "广东省", "Hainan": "海南省",
    "Sichuan": "四川省", "Guizhou": "贵州省", "Yunnan": "云南省", "Shaanxi": "陕西省", "Gansu": "甘肃省",
    "Qinghai": "青海省", "Taiwan": "台湾省", "Inner Mongolia": "内蒙古自治区", "Guangxi": "广西壮族自治区",
    "Tibet": "西藏自治区", "Xizang": "西藏自治区", "Ningxia": "宁夏回族自治区", "Xinjiang": "新疆维吾尔自治区",
    "Hong Kong": "香港特别行政区", "Macao": "澳门特别行政区", "Macau": "澳门特别行政区",
}  # fmt: skip
# A city, district or county by its suffix; 2 to 4 characters before it (苏州市, 吴江区, 张家港市, 巴东县).
_LOCAL = re.compile(r"([\u4e00-\u9fff]{2,4}?)(市|区|县|自治州|地区|盟)")
# Words ending in a place suffix that are not places.
_NOT_PLACES = frozenset({"城市", "社区", "园区", "小区", "景区", "城区", "市区", "开发区", "示范区", "试验区", "保税区", "新区", "地区", "全市", "全区", "全县", "本市", "该市"})


def canonical_place(name: str) -> str | None:
    """The full name of a place named in full or short; None when `name` is no place name.

    >>> canonical_place("宁夏"), canonical_place("江苏省"), canonical_place("苏州"), canonical_place("苏州市")
    ('宁夏回族自治区', '江苏省', None, '苏州市')
    """
    name = name.strip()
    if name in PROVINCES:
        return name
    if name in _SHORT:
        return _SHORT[name]
    m = _LOCAL.fullmatch(name)
    if m and name not in _NOT_PLACES:
        return name
    return None


@cache
def place_aliases(place: str) -> frozenset[str]:
    """Every way a question may name `place` (its full name and its short form).

    >>> sorted(place_aliases("广西壮族自治区")), sorted(place_aliases("苏州市"))
    (['广西', '广西壮族自治区'], ['苏州', '苏州市'])
    """
    if place in PROVINCES:
        return frozenset({place, PROVINCES[place]})
    m = _LOCAL.fullmatch(place)
    if m:
        return frozenset({place, m.group(1)})
    return frozenset({place})


def is_province(place: str) -> bool:
    """Whether `place` (a full name) is a provincial-level division."""
    return place in PROVINCES


def places_in(text: str, known: frozenset[str] = frozenset()) -> list[str]:
    """Full names of the places `text` names, in order of mention: provinces in full or short, and
    any of the `known` places (an index's own cities and districts) by one of their aliases.

    >>> places_in("江苏和宁夏2025年的目标")
    ['江苏省', '宁夏回族自治区']
    >>> places_in("苏州2024年检查了多少家企业", frozenset({"苏州市"}))
    ['苏州市']
    >>> places_in("Guangdong's 2025 government work report")
    ['广东省']
    """
    found: dict[str, int] = {}
    for english, place in ENGLISH.items():
        m = re.search(rf"\b{english}\b", text, re.I)
        if m:
            found.setdefault(place, m.start())
    for place in (*PROVINCES, *known):
        for alias in sorted(place_aliases(place), key=len, reverse=True):
            at = text.find(alias)
            if at >= 0:
                found.setdefault(place, at)
                break
    # a short name inside a longer one (南京 inside 南京市, 吉林 inside 吉林省) is one mention
    return sorted(found, key=found.__getitem__)
