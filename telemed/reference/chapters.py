"""The 22 chapters of WHO ICD-10 (2019), Chinese titles as in the national clinical edition."""

from __future__ import annotations

from typing import NamedTuple


class Chapter(NamedTuple):
    number: str  # Roman numerals
    codes: str  # block range
    name_zh: str
    name_en: str


CHAPTERS: dict[str, Chapter] = {
    c.number: c
    for c in (
        Chapter(
            "I", "A00-B99", "某些传染病和寄生虫病", "Certain infectious and parasitic diseases"
        ),
        Chapter("II", "C00-D48", "肿瘤", "Neoplasms"),
        Chapter(
            "III",
            "D50-D89",
            "血液及造血器官疾病和某些涉及免疫机制的疾患",
            "Diseases of the blood and blood-forming organs and certain disorders "
            "involving the immune mechanism",
        ),
        Chapter(
            "IV",
            "E00-E90",
            "内分泌、营养和代谢疾病",
            "Endocrine, nutritional and metabolic diseases",
        ),
        Chapter("V", "F00-F99", "精神和行为障碍", "Mental and behavioural disorders"),
        Chapter("VI", "G00-G99", "神经系统疾病", "Diseases of the nervous system"),
        Chapter("VII", "H00-H59", "眼和附器疾病", "Diseases of the eye and adnexa"),
        Chapter("VIII", "H60-H95", "耳和乳突疾病", "Diseases of the ear and mastoid process"),
        Chapter("IX", "I00-I99", "循环系统疾病", "Diseases of the circulatory system"),
        Chapter("X", "J00-J99", "呼吸系统疾病", "Diseases of the respiratory system"),
        Chapter("XI", "K00-K93", "消化系统疾病", "Diseases of the digestive system"),
        Chapter(
            "XII", "L00-L99", "皮肤和皮下组织疾病", "Diseases of the skin and subcutaneous tissue"
        ),
        Chapter(
            "XIII",
            "M00-M99",
            "肌肉骨骼系统和结缔组织疾病",
            "Diseases of the musculoskeletal system and connective tissue",
        ),
        Chapter("XIV", "N00-N99", "泌尿生殖系统疾病", "Diseases of the genitourinary system"),
        Chapter("XV", "O00-O99", "妊娠、分娩和产褥期", "Pregnancy, childbirth and the puerperium"),
        Chapter(
            "XVI",
            "P00-P96",
            "起源于围生期的某些情况",
            "Certain conditions originating in the perinatal period",
        ),
        Chapter(
            "XVII",
            "Q00-Q99",
            "先天性畸形、变形和染色体异常",
            "Congenital malformations, deformations and chromosomal abnormalities",
        ),
        Chapter(
            "XVIII",
            "R00-R99",
            "症状、体征和临床与实验室异常所见，不可归类在他处者",
            "Symptoms, signs and abnormal clinical and laboratory findings, "
            "not elsewhere classified",
        ),
        Chapter(
            "XIX",
            "S00-T98",
            "损伤、中毒和外因的某些其他后果",
            "Injury, poisoning and certain other consequences of external causes",
        ),
        Chapter("XX", "V01-Y98", "疾病和死亡的外因", "External causes of morbidity and mortality"),
        Chapter(
            "XXI",
            "Z00-Z99",
            "影响健康状态和与保健机构接触的因素",
            "Factors influencing health status and contact with health services",
        ),
        Chapter("XXII", "U00-U85", "用于特殊目的的编码", "Codes for special purposes"),
    )
}


def chapter_of(code: str) -> str | None:
    """The chapter whose block range holds `code` (by its first three characters)."""
    head = code[:3].upper()
    for c in CHAPTERS.values():
        lo, hi = c.codes.split("-")
        if lo <= head <= hi:
            return c.number
    return None
