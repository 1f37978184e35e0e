"""Texts of the printed opinion (会诊意见书) and payment receipt (缴费凭证) by language.

The Mongolian texts were drafted without a native reviewer (see the glossary
frontend/src/i18n/mn-Mong.glossary.md); a missing key falls back to zh-CN, never English.
"""

from __future__ import annotations

OPINION: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "远程会诊意见书",
        "version": "第 {version} 版",
        "service_class": "会诊类型",
        "urgency": "紧急程度",
        "emergency": "急诊",
        "urgent": "加急",
        "routine": "常规",
        "requesting": "申请医院",
        "requester": "申请医生",
        "receiving": "会诊医院",
        "author": "会诊专家",
        "author_hospital": "专家所在医院",
        "icd10": "诊断（ICD-10）",
        "consent": "患者知情同意",
        "consent_line": "{who}，{how}，{when}",
        "consent_witness": "，见证人：{witness}",
        "consent_verbal": "口头同意（医生记录）",
        "consent_signed_form": "签署知情同意书",
        "consent_written": "书面签字",
        "consent_on_screen": "屏幕手写签名",
        "submitted": "申请时间",
        "signed": "签发时间",
        "question": "会诊问题",
        "findings": "所见",
        "impression": "诊断意见",
        "recommendations": "建议",
        "referral": "转诊建议",
        "refer": "建议转诊",
        "no_referral": "暂不需要转诊",
        "ecg": "心电图测量值（判读者核对）",
        "ecg_values": "心率 {hr} 次/分，RR {rr} 毫秒，PR {pr} 毫秒，QRS {qrs} 毫秒，QT {qt} 毫秒，"
        "QTc {qtcb} 毫秒（Bazett）/ {qtcf} 毫秒（Fridericia），电轴 {axis}°",
        "ecg_edited": "判读者修改了自动测量值：{names}",
        "correction": "更正说明",
        "signature": "电子签名（Ed25519）",
        "signer": "签名人：{doctor}　密钥编号：{key}",
        "fingerprint": "公钥指纹（SHA-256）：{fingerprint}",
        "signature_value": "签名：{signature}",
        "verify": "验证：{url}",
    },
    "en": {
        "title": "Remote consultation opinion",
        "version": "version {version}",
        "service_class": "Kind",
        "urgency": "Urgency",
        "emergency": "emergency",
        "urgent": "urgent",
        "routine": "routine",
        "requesting": "Requesting hospital",
        "requester": "Requesting doctor",
        "receiving": "Consulting hospital",
        "author": "Specialist",
        "author_hospital": "Specialist's hospital",
        "icd10": "Diagnoses (ICD-10)",
        "consent": "Patient's informed consent",
        "consent_line": "{who}, {how}, {when}",
        "consent_witness": ", witnessed by {witness}",
        "consent_verbal": "verbal (recorded by the doctor)",
        "consent_signed_form": "signed consent form",
        "consent_written": "written",
        "consent_on_screen": "signed on the screen",
        "submitted": "Requested",
        "signed": "Signed",
        "question": "Question",
        "findings": "Findings",
        "impression": "Impression",
        "recommendations": "Recommendations",
        "referral": "Referral",
        "refer": "Referral advised",
        "no_referral": "No referral needed for now",
        "ecg": "ECG measurements (checked by the reader)",
        "ecg_values": "HR {hr} bpm, RR {rr} ms, PR {pr} ms, QRS {qrs} ms, QT {qt} ms, "
        "QTc {qtcb} ms (Bazett) / {qtcf} ms (Fridericia), axis {axis}°",
        "ecg_edited": "The reader changed the automatic values of: {names}",
        "correction": "Correction",
        "signature": "Electronic signature (Ed25519)",
        "signer": "Signed by {doctor}, key {key}",
        "fingerprint": "Public key fingerprint (SHA-256): {fingerprint}",
        "signature_value": "Signature: {signature}",
        "verify": "Verify: {url}",
    },
    "mn-Mong": {
        "title": "ᠵᠠᠢ ᠶᠢᠨ ᠵᠥᠪᠯᠡᠭᠡᠨ ᠦ ᠰᠠᠨᠠᠯ",  # jai-yin zöblegen-ü sanal
        "version": "{version} ᠳ᠋ᠤᠭᠠᠷ ᠬᠡᠪᠯᠡᠯ",  # … duγar keblel
        "service_class": "ᠵᠥᠪᠯᠡᠭᠡᠨ ᠦ ᠲᠥᠷᠥᠯ",  # zöblegen-ü törül
        "urgency": "ᠶᠠᠭᠠᠷᠠᠯᠲᠠᠢ ᠪᠠᠢᠳᠠᠯ",  # yaγaraltai bayidal
        "emergency": "ᠲᠦᠷᠭᠡᠨ ᠲᠤᠰᠠᠯᠠᠮᠵᠢ",  # türgen tusalamji
        "urgent": "ᠶᠠᠭᠠᠷᠠᠯᠲᠠᠢ",  # yaγaraltai
        "routine": "ᠡᠩ ᠦᠨ",  # engün
        "requesting": "ᠭᠤᠶᠤᠴᠢᠯᠠᠭᠴᠢ ᠡᠮᠨᠡᠯᠭᠡ",  # γuyučilaγči emnelge
        "requester": "ᠭᠤᠶᠤᠴᠢᠯᠠᠭᠴᠢ ᠡᠮᠴᠢ",  # γuyučilaγči emči
        "receiving": "ᠵᠥᠪᠯᠡᠬᠦ ᠡᠮᠨᠡᠯᠭᠡ",  # zöblekü emnelge
        "author": "ᠮᠡᠷᠭᠡᠵᠢᠯᠲᠡᠨ ᠡᠮᠴᠢ",  # mergejilten emči
        "submitted": "ᠭᠤᠶᠤᠴᠢᠯᠠᠭᠰᠠᠨ ᠴᠠᠭ",  # γuyučilaγsan čaγ
        "signed": "ᠭᠠᠷ ᠤᠰᠤᠭ ᠵᠢᠷᠤᠭᠰᠠᠨ ᠴᠠᠭ",  # γar usuγ jiruγsan čaγ
        "question": "ᠠᠰᠠᠭᠤᠳᠠᠯ",  # asaγudal
        "findings": "ᠦᠵᠡᠯᠭᠡ",  # üjelge
        "impression": "ᠣᠨᠤᠰᠢ",  # onuši
        "recommendations": "ᠵᠥᠪᠯᠡᠮᠵᠢ",  # zöblemji
        "referral": "ᠰᠢᠯᠵᠢᠭᠦᠯᠬᠦ ᠵᠥᠪᠯᠡᠮᠵᠢ",  # siljigülkü zöblemji
        "refer": "ᠰᠢᠯᠵᠢᠭᠦᠯᠬᠦ ᠶᠢ ᠵᠥᠪᠯᠡᠨ᠎ᠡ",  # siljigülkü-yi zöblen-e
        "no_referral": "ᠣᠳᠣ ᠰᠢᠯᠵᠢᠭᠦᠯᠬᠦ ᠬᠡᠷᠡᠭ ᠦᠭᠡᠢ",  # odo siljigülkü kereg ügei
        "correction": "ᠵᠠᠰᠠᠪᠤᠷᠢ",  # jasaburi
        "signature": "ᠴᠠᠬᠢᠯᠭᠠᠨ ᠭᠠᠷ ᠤᠰᠤᠭ (Ed25519)",  # čakilγan γar usuγ
        "signer": "ᠭᠠᠷ ᠤᠰᠤᠭ ᠵᠢᠷᠤᠭᠴᠢ {doctor}  ᠲᠦᠯᠬᠢᠭᠦᠷ {key}",  # γar usuγ jiruγči, tülkigür
        "fingerprint": "ᠲᠦᠯᠬᠢᠭᠦᠷ ᠦᠨ ᠤᠷᠤᠮ (SHA-256) {fingerprint}",  # tülkigür-ün urum
        "signature_value": "ᠭᠠᠷ ᠤᠰᠤᠭ {signature}",
        "verify": "ᠰᠢᠯᠭᠠᠬᠤ {url}",  # silγaqu
    },
}

RECEIPT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "远程会诊缴费凭证",
        "consultation": "会诊编号",
        "service_class": "会诊类型",
        "kind": "类别",
        "charge": "缴费",
        "refund": "退费",
        "amount": "金额",
        "status": "状态",
        "succeeded": "成功",
        "failed": "失败",
        "provider": "支付渠道",
        "reference": "交易号",
        "paid_at": "时间",
        "note": "说明",
        "note_text": "本凭证不作为发票；发票由会诊医院开具。",
    },
    "en": {
        "title": "Remote consultation payment receipt",
        "consultation": "Consultation",
        "service_class": "Kind of service",
        "kind": "Kind",
        "charge": "payment",
        "refund": "refund",
        "amount": "Amount",
        "status": "Status",
        "succeeded": "succeeded",
        "failed": "failed",
        "provider": "Paid through",
        "reference": "Transaction",
        "paid_at": "Time",
        "note": "Note",
        "note_text": "This receipt is not a tax invoice; the consulting hospital issues it.",
    },
    "mn-Mong": {
        "title": "ᠵᠥᠪᠯᠡᠭᠡᠨ\u202fᠦ ᠲᠥᠯᠦᠪᠦᠷᠢ\u202fᠶᠢᠨ ᠪᠠᠷᠢᠮᠲᠠ",  # zöblegen-ü tölübüri-yin barimta
        "consultation": "ᠵᠥᠪᠯᠡᠭᠡᠨ\u202fᠦ ᠳ᠋ᠤᠭᠠᠷ",  # zöblegen-ü duγar
        "service_class": "ᠵᠥᠪᠯᠡᠭᠡᠨ\u202fᠦ ᠲᠥᠷᠥᠯ",  # zöblegen-ü törül
        "kind": "ᠲᠥᠷᠥᠯ",  # törül
        "charge": "ᠲᠥᠯᠦᠪᠦᠷᠢ ᠲᠥᠯᠦᠭᠰᠡᠨ",  # tölübüri tölügsen
        "refund": "ᠪᠤᠴᠠᠭᠠᠵᠤ ᠥᠭᠭᠦᠭᠰᠡᠨ",  # bučaγaju ögkügsen
        "amount": "ᠳᠦᠩ",  # düng
        "status": "ᠪᠠᠢᠳᠠᠯ",  # bayidal
        "succeeded": "ᠠᠮᠵᠢᠯᠲᠠ ᠲᠠᠢ",  # amjilta-tai
        "failed": "ᠠᠮᠵᠢᠯᠲᠠ ᠦᠭᠡᠢ",  # amjilta ügei
        "provider": "ᠲᠥᠯᠦᠭᠰᠡᠨ ᠠᠷᠭ᠎ᠠ",  # tölügsen arγ-a
        "reference": "ᠭᠦᠢᠯᠭᠡᠭᠡ\u202fᠶᠢᠨ ᠳ᠋ᠤᠭᠠᠷ",  # güyilgege-yin duγar
        "paid_at": "ᠴᠠᠭ",  # čaγ
        "note": "ᠲᠠᠢᠯᠪᠤᠷᠢ",  # tayilburi
        # ene barimta ni tatawar-un nekemjilel bisi
        "note_text": "ᠡᠨᠡ ᠪᠠᠷᠢᠮᠲᠠ ᠨᠢ ᠲᠠᠲᠠᠸᠠᠷ\u202fᠤᠨ ᠨᠡᠬᠡᠮᠵᠢᠯᠡᠯ ᠪᠢᠰᠢ᠃",
    },
}
