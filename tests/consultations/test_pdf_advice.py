"""The printed opinion names the specialty a patient is referred to, never its code."""

from __future__ import annotations

from telemed.consultations.models import Opinion
from telemed.consultations.pdf import _advice
from telemed.consultations.pdf_texts import OPINION
from telemed.core.printing.common import texts


def _opinion(advice: dict[str, object]) -> Opinion:
    return Opinion(referral_advice=advice)


def test_the_referral_advice_names_the_specialty_in_the_documents_language() -> None:
    o = _opinion({"refer": True, "specialty": "cardiology", "note": "两周内"})
    assert _advice(o, texts(OPINION, "zh-CN"), "zh-CN") == "建议转诊：心血管内科。两周内"
    assert "Cardiology" in _advice(o, texts(OPINION, "en"), "en")
    assert "cardiology" not in _advice(o, texts(OPINION, "mn-Mong"), "mn-Mong")


def test_an_unknown_specialty_code_is_kept_and_no_referral_says_so() -> None:
    o = _opinion({"refer": True, "specialty": "space_medicine"})
    assert _advice(o, texts(OPINION, "zh-CN"), "zh-CN").endswith("：space_medicine")
    assert _advice(_opinion({"refer": False}), texts(OPINION, "zh-CN"), "zh-CN") == "暂不需要转诊"
