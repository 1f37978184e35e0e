"""The demo patients: names, resident ID numbers and phones, by number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from telemed.identity import resident_id as rid

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢"
GIVEN = ["建国", "秀英", "桂兰", "志强", "玉兰", "海军", "丽娟", "国华", "淑珍", "文斌", "红梅"]
MONGOLIAN = ["巴雅尔", "乌兰", "其其格", "苏和", "格日勒", "那仁", "萨仁", "额尔敦", "图雅", "宝音"]


@dataclass(frozen=True)
class PatientSpec:
    name: str
    resident_id: str
    phone: str
    county_code: str


def patient_spec(n: int, county_code: str) -> PatientSpec:
    """The n-th demo patient: depends on n and the county only (the first marks the seed)."""
    female = n % 2 == 1
    born = date(1938, 1, 1) + timedelta(days=(n * 397) % 29000)
    if n % 3 == 0:
        name = MONGOLIAN[n % len(MONGOLIAN)]
    else:
        name = SURNAMES[(n * 7) % len(SURNAMES)] + GIVEN[n % len(GIVEN)]
    return PatientSpec(
        name=name,
        resident_id=rid.make(county_code, born, 100 + n % 800, female=female),
        phone=f"139{n:08d}",
        county_code=county_code,
    )
