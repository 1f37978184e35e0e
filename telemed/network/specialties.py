"""The fixed specialty code list (诊疗科目), after the NHC 医疗机构诊疗科目名录 top-level items.

Codes are stable; names are shown in Simplified Chinese with an English gloss.
"""

from __future__ import annotations

from enum import StrEnum


class Specialty(StrEnum):
    GENERAL_PRACTICE = "general_practice"  # 全科医学科
    INTERNAL_MEDICINE = "internal_medicine"  # 内科
    CARDIOLOGY = "cardiology"  # 心血管内科
    RESPIRATORY = "respiratory"  # 呼吸内科
    GASTROENTEROLOGY = "gastroenterology"  # 消化内科
    NEUROLOGY = "neurology"  # 神经内科
    ENDOCRINOLOGY = "endocrinology"  # 内分泌科
    NEPHROLOGY = "nephrology"  # 肾内科
    GENERAL_SURGERY = "general_surgery"  # 普通外科
    ORTHOPEDICS = "orthopedics"  # 骨科
    NEUROSURGERY = "neurosurgery"  # 神经外科
    CARDIOTHORACIC_SURGERY = "cardiothoracic_surgery"  # 心胸外科
    UROLOGY = "urology"  # 泌尿外科
    OBSTETRICS_GYNECOLOGY = "obstetrics_gynecology"  # 妇产科
    PEDIATRICS = "pediatrics"  # 儿科
    ONCOLOGY = "oncology"  # 肿瘤科
    OPHTHALMOLOGY = "ophthalmology"  # 眼科
    ENT = "ent"  # 耳鼻咽喉科
    DERMATOLOGY = "dermatology"  # 皮肤科
    PSYCHIATRY = "psychiatry"  # 精神科
    INFECTIOUS_DISEASE = "infectious_disease"  # 感染科
    EMERGENCY = "emergency"  # 急诊医学科
    CRITICAL_CARE = "critical_care"  # 重症医学科
    REHABILITATION = "rehabilitation"  # 康复医学科
    RADIOLOGY = "radiology"  # 医学影像科
    ULTRASOUND = "ultrasound"  # 超声科
    ELECTROPHYSIOLOGY = "electrophysiology"  # 心电诊断
    PATHOLOGY = "pathology"  # 病理科
    LABORATORY = "laboratory"  # 医学检验科
    TCM = "tcm"  # 中医科
    MONGOLIAN_MEDICINE = "mongolian_medicine"  # 蒙医科


NAMES: dict[Specialty, tuple[str, str]] = {
    Specialty.GENERAL_PRACTICE: ("全科医学科", "General practice"),
    Specialty.INTERNAL_MEDICINE: ("内科", "Internal medicine"),
    Specialty.CARDIOLOGY: ("心血管内科", "Cardiology"),
    Specialty.RESPIRATORY: ("呼吸内科", "Respiratory medicine"),
    Specialty.GASTROENTEROLOGY: ("消化内科", "Gastroenterology"),
    Specialty.NEUROLOGY: ("神经内科", "Neurology"),
    Specialty.ENDOCRINOLOGY: ("内分泌科", "Endocrinology"),
    Specialty.NEPHROLOGY: ("肾内科", "Nephrology"),
    Specialty.GENERAL_SURGERY: ("普通外科", "General surgery"),
    Specialty.ORTHOPEDICS: ("骨科", "Orthopedics"),
    Specialty.NEUROSURGERY: ("神经外科", "Neurosurgery"),
    Specialty.CARDIOTHORACIC_SURGERY: ("心胸外科", "Cardiothoracic surgery"),
    Specialty.UROLOGY: ("泌尿外科", "Urology"),
    Specialty.OBSTETRICS_GYNECOLOGY: ("妇产科", "Obstetrics and gynecology"),
    Specialty.PEDIATRICS: ("儿科", "Pediatrics"),
    Specialty.ONCOLOGY: ("肿瘤科", "Oncology"),
    Specialty.OPHTHALMOLOGY: ("眼科", "Ophthalmology"),
    Specialty.ENT: ("耳鼻咽喉科", "Otorhinolaryngology"),
    Specialty.DERMATOLOGY: ("皮肤科", "Dermatology"),
    Specialty.PSYCHIATRY: ("精神科", "Psychiatry"),
    Specialty.INFECTIOUS_DISEASE: ("感染科", "Infectious diseases"),
    Specialty.EMERGENCY: ("急诊医学科", "Emergency medicine"),
    Specialty.CRITICAL_CARE: ("重症医学科", "Critical care"),
    Specialty.REHABILITATION: ("康复医学科", "Rehabilitation medicine"),
    Specialty.RADIOLOGY: ("医学影像科", "Radiology"),
    Specialty.ULTRASOUND: ("超声科", "Ultrasound"),
    Specialty.ELECTROPHYSIOLOGY: ("心电诊断科", "ECG diagnostics"),
    Specialty.PATHOLOGY: ("病理科", "Pathology"),
    Specialty.LABORATORY: ("医学检验科", "Laboratory medicine"),
    Specialty.TCM: ("中医科", "Traditional Chinese medicine"),
    Specialty.MONGOLIAN_MEDICINE: ("蒙医科", "Mongolian medicine"),
}


def specialty_name(code: str, language: str) -> str:
    """A specialty's name in `language` (English for en, Chinese otherwise: Mongolian
    documents embed Chinese names); an unknown code stays as it is."""
    try:
        zh, en = NAMES[Specialty(code)]
    except ValueError:
        return code
    return en if language == "en" else zh
