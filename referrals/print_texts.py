"""What the printed referral slip (转诊单) and family-doctor contract (签约协议) say, per
language: zh-CN (the fallback of every missing key), en, and mn-Mong — Mongolian drafted
without a native reviewer, the terms as in frontend/src/i18n/mn-Mong.glossary.md.
"""

from __future__ import annotations

SLIP: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "双向转诊单",
        "direction": "转诊方向",
        "up": "上转",
        "down": "下转",
        "lateral": "平级转诊",
        "urgency": "紧急程度",
        "emergency": "急诊",
        "urgent": "加急",
        "routine": "常规",
        "from_institution": "转出医院",
        "from_doctor": "转诊医生",
        "to_institution": "接收医院",
        "to_department": "接收科室",
        "appointment": "就诊时间",
        "contact_by": "联系患者截止",
        "diagnosis": "诊断",
        "green_channel": "绿色通道",
        "reason": "转诊原因",
        "summary": "病情摘要",
        "care_plan": "后续照护计划",
        "bring": "请携带本单、身份证和医保卡按时就诊。",
    },
    "en": {
        "title": "Referral slip",
        "direction": "Direction",
        "up": "up to a higher tier",
        "down": "down to primary care",
        "lateral": "lateral",
        "urgency": "Urgency",
        "emergency": "emergency",
        "urgent": "urgent",
        "routine": "routine",
        "from_institution": "Referring hospital",
        "from_doctor": "Referring doctor",
        "to_institution": "Receiving hospital",
        "to_department": "Department",
        "appointment": "Appointment",
        "contact_by": "Patient contacted by",
        "diagnosis": "Diagnosis",
        "green_channel": "Green channel",
        "reason": "Reason for referral",
        "summary": "Clinical summary",
        "care_plan": "Care plan",
        "bring": "Bring this slip, your ID card and insurance card to the appointment.",
    },
    "mn-Mong": {
        "title": "ᠰᠢᠯᠵᠢᠭᠦᠯᠬᠦ ᠪᠢᠴᠢᠭ",  # siljigülkü bičig
        "direction": "ᠴᠢᠭᠯᠡᠯ",  # čiγlel
        "up": "ᠳᠡᠭᠡᠭᠰᠢ ᠰᠢᠯᠵᠢᠭᠦᠯᠬᠦ",  # degegsi siljigülkü
        "down": "ᠳᠣᠣᠷᠠᠭᠰᠢ ᠰᠢᠯᠵᠢᠭᠦᠯᠬᠦ",  # dooraγsi siljigülkü
        "lateral": "ᠬᠡᠪᠲᠡᠭᠡ ᠰᠢᠯᠵᠢᠭᠦᠯᠬᠦ",  # kebtege siljigülkü
        "urgency": "ᠶᠠᠭᠠᠷᠠᠯᠲᠠᠢ ᠪᠠᠢᠳᠠᠯ",  # yaγaraltai bayidal
        "emergency": "ᠲᠦᠷᠭᠡᠨ ᠲᠤᠰᠠᠯᠠᠮᠵᠢ",  # türgen tusalamji
        "urgent": "ᠶᠠᠭᠠᠷᠠᠯᠲᠠᠢ",  # yaγaraltai
        "routine": "ᠡᠩ\u202fᠦᠨ",  # eng-ün
        "from_institution": "ᠢᠯᠡᠭᠡᠭᠴᠢ ᠡᠮᠨᠡᠯᠭᠡ",  # ilegegči emnelge
        "from_doctor": "ᠢᠯᠡᠭᠡᠭᠴᠢ ᠡᠮᠴᠢ",  # ilegegči emči
        "to_institution": "ᠬᠦᠯᠢᠶᠡᠨ ᠠᠪᠬᠤ ᠡᠮᠨᠡᠯᠭᠡ",  # küliyen abqu emnelge
        "to_department": "ᠲᠠᠰᠤᠭ",  # tasuγ
        "appointment": "ᠦᠵᠡᠯᠭᠡ\u202fᠶᠢᠨ ᠴᠠᠭ",  # üjelge-yin čaγ
        "contact_by": "ᠬᠠᠷᠢᠯᠴᠠᠬᠤ ᠡᠴᠦᠰ\u202fᠦᠨ ᠬᠤᠭᠤᠴᠠᠭ᠎ᠠ",  # qarilčaqu ečüs-ün quγučaγ-a
        "diagnosis": "ᠣᠨᠤᠰᠢ",  # onuši
        "green_channel": "ᠨᠣᠭᠣᠭᠠᠨ ᠵᠠᠮ",  # noγoγan jam
        "reason": "ᠰᠢᠯᠵᠢᠭᠦᠯᠬᠦ ᠰᠢᠯᠲᠠᠭᠠᠨ",  # siljigülkü siltaγan
        "summary": "ᠡᠮᠨᠡᠯᠭᠡ\u202fᠶᠢᠨ ᠲᠣᠪᠴᠢ",  # emnelge-yin tobči
        "care_plan": "ᠠᠰᠠᠷᠠᠮᠵᠢ\u202fᠶᠢᠨ ᠲᠥᠯᠥᠪᠯᠡᠭᠡ",  # asaramji-yin tölöblege
        "bring": "ᠡᠨᠡ ᠪᠢᠴᠢᠭ ᠪᠡᠶ᠎ᠡ\u202fᠶᠢᠨ ᠦᠨᠡᠮᠯᠡᠯ ᠳᠠᠭᠠᠲᠭᠠᠯ\u202fᠤᠨ ᠺᠠᠷᠲ ᠢ ᠠᠪᠴᠤ ᠢᠷᠡᠭᠡᠷᠡᠢ᠃",
    },
}

CONTRACT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "家庭医生签约服务协议",
        "team": "签约团队",
        "institution": "签约机构",
        "lead": "团队长",
        "term": "服务期限",
        "status": "状态",
        "pending": "待确认",
        "active": "生效",
        "expired": "已到期",
        "terminated": "已解约",
        "signed": "签约时间",
        "channel": "签约方式",
        "app": "患者线上签约",
        "doctor": "医生现场签约",
        "confirmed": "团队确认时间",
        "packages": "服务包",
        "package": "{name}：每年 {visits} 次服务，年费 {fee} 元（医保/公卫承担 {share}%）",
        "terms": "双方约定",
        "terms_text": "签约居民可优先预约团队医生、享受转诊绿色通道；合同期满可续约，"
        "居民可随时申请解约。",
    },
    "en": {
        "title": "Family doctor service contract",
        "team": "Team",
        "institution": "Institution",
        "lead": "Team lead",
        "term": "Term",
        "status": "Status",
        "pending": "awaiting confirmation",
        "active": "active",
        "expired": "expired",
        "terminated": "terminated",
        "signed": "Signed",
        "channel": "Signed by",
        "app": "the resident in the app",
        "doctor": "a doctor of the team",
        "confirmed": "Confirmed",
        "packages": "Service packages",
        "package": "{name}: {visits} visits a year, {fee} yuan a year ({share}% paid by insurance)",
        "services": "Services: {services}",
        "terms": "Terms",
        "terms_text": "The resident books the team's doctors first and is referred through the "
        "green channel; the contract can be renewed at its end and ended by the resident "
        "at any time.",
    },
    "mn-Mong": {
        "title": "ᠭᠡᠷ ᠪᠦᠯᠢ\u202fᠶᠢᠨ ᠡᠮᠴᠢ\u202fᠶᠢᠨ ᠭᠡᠷ᠎ᠡ",  # ger büli-yin emči-yin ger-e
        "team": "ᠪᠠᠭ",  # baγ
        "institution": "ᠡᠮᠨᠡᠯᠭᠡ",  # emnelge
        "lead": "ᠪᠠᠭ\u202fᠤᠨ ᠠᠬᠤᠯᠠᠭᠴᠢ",  # baγ-un aqulaγči
        "term": "ᠬᠤᠭᠤᠴᠠᠭ᠎ᠠ",  # quγučaγ-a
        "status": "ᠪᠠᠢᠳᠠᠯ",  # bayidal
        "pending": "ᠪᠠᠲᠤᠯᠠᠬᠤ\u202fᠶᠢ ᠬᠦᠯᠢᠶᠡᠵᠦ ᠪᠠᠢᠨ᠎ᠠ",  # batulaqu-yi küliyejü bayin-a
        "active": "ᠬᠦᠴᠦᠨ ᠲᠡᠢ",  # küčün-tei
        "expired": "ᠬᠤᠭᠤᠴᠠᠭ᠎ᠠ ᠳᠠᠭᠤᠰᠤᠭᠰᠠᠨ",  # quγučaγ-a daγusuγsan
        "terminated": "ᠴᠤᠯᠠᠯᠠᠭᠳᠠᠭᠰᠠᠨ",  # čuqlalaγdaγsan
        "signed": "ᠭᠡᠷ᠎ᠡ ᠪᠠᠢᠭᠤᠯᠤᠭᠰᠠᠨ ᠴᠠᠭ",  # ger-e bayiγuluγsan čaγ
        "channel": "ᠭᠡᠷ᠎ᠡ ᠪᠠᠢᠭᠤᠯᠤᠭᠰᠠᠨ ᠠᠷᠭ᠎ᠠ",  # ger-e bayiγuluγsan arγ-a
        "app": "ᠥᠪᠴᠢᠲᠡᠨ ᠭᠠᠷ ᠤᠲᠠᠰᠤ ᠪᠠᠷ",  # öbčiten γar utasu-bar
        "doctor": "ᠡᠮᠴᠢ",  # emči
        "confirmed": "ᠪᠠᠲᠤᠯᠠᠭᠰᠠᠨ ᠴᠠᠭ",  # batulaγsan čaγ
        "packages": "ᠦᠢᠯᠡᠴᠢᠯᠭᠡ\u202fᠶᠢᠨ ᠪᠠᠭᠴᠠ",  # üyilečilge-yin baγča
        "package": "{name} {visits} ᠤᠳᠠᠭ᠎ᠠ {fee} ᠶᠤᠸᠠᠨ {share}%",  # udaγ-a, yuwan
        "terms": "ᠲᠣᠬᠢᠷᠠᠯᠴᠠᠭ᠎ᠠ",  # toqiralčaγ-a
        "terms_text": "ᠭᠡᠷ᠎ᠡ ᠪᠠᠢᠭᠤᠯᠤᠭᠰᠠᠨ ᠢᠷᠭᠡᠨ ᠪᠠᠭ\u202fᠤᠨ ᠡᠮᠴᠢ ᠳᠦ ᠤᠷᠢᠳᠠᠴᠢᠯᠠᠨ ᠦᠵᠡᠭᠦᠯᠦᠨ᠎ᠡ᠃",
    },
}
