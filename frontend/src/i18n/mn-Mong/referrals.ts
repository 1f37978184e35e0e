/**
 * Two-way referrals (双向转诊): traditional Mongolian script (mn-Mong).
 * DRAFTED WITHOUT A NATIVE REVIEWER: machine-assisted draft of the project's developers, to be
 * read by a native speaker before release (see ../mn-Mong.glossary.md). Keys left out fall
 * back to Chinese.
 */
import type zh from '../zh-CN/referrals'
import type { DeepPartial } from './types'

const referrals: DeepPartial<typeof zh> = {
  direction: {
    up: 'ᠳᠡᠭᠡᠭᠰᠢ ᠰᠢᠯᠵᠢᠭᠦᠯᠡᠬᠦ',
    down: 'ᠳᠣᠭᠣᠭᠰᠢ ᠰᠢᠯᠵᠢᠭᠦᠯᠡᠬᠦ',
    lateral: 'ᠲᠡᠭᠰᠢ ᠰᠢᠯᠵᠢᠭᠦᠯᠡᠬᠦ',
  },
  referralUrgency: {
    routine: 'ᠡᠩᠭᠢᠨ',
    urgent: 'ᠶᠠᠷᠠᠯᠲᠠᠢ',
    emergency: 'ᠶᠠᠷᠠᠯᠲᠠᠢ ᠡᠮᠨᠡᠯᠭᠡ',
  },
  referralStatus: {
    draft: 'ᠨᠣᠣᠷᠤᠭ',
    requested: 'ᠲᠤᠰᠢᠶᠠᠭᠳᠠᠪᠠ',
    received: 'ᠬᠦᠯᠡᠡᠨ ᠠᠪᠤᠪᠠ',
    accepted: 'ᠵᠥᠪᠰᠢᠶᠡᠷᠡᠪᠡ',
    booked: 'ᠪᠦᠷᠲᠡᠭᠦᠯᠪᠡ',
    arrived: 'ᠢᠷᠡᠪᠡ',
    completed: 'ᠳᠤᠤᠰᠪᠠ',
    closed: 'ᠬᠠᠭᠠᠭᠳᠠᠪᠠ',
    rejected: 'ᠲᠡᠪᠴᠢᠭᠳᠡᠪᠡ',
    returned_with_advice: 'ᠰᠠᠨᠠᠯ ᠲᠠᠢ ᠪᠤᠴᠠᠭᠠᠪᠠ',
    cancelled: 'ᠴᠤᠴᠠᠯᠠᠭᠳᠠᠪᠠ',
  },
  referralAction: {
    create: 'ᠪᠠᠶᠢᠭᠤᠯᠬᠤ',
    submit: 'ᠲᠤᠰᠢᠶᠠᠬᠤ',
    receive: 'ᠬᠦᠯᠡᠡᠨ ᠠᠪᠬᠤ',
    accept: 'ᠵᠥᠪᠰᠢᠶᠡᠷᠡᠬᠦ',
    book: 'ᠴᠠᠭ ᠪᠦᠷᠲᠡᠭᠦᠯᠡᠬᠦ',
    arrive: 'ᠢᠷᠡᠯᠲ ᠪᠦᠷᠲᠡᠭᠦᠯᠡᠬᠦ',
    complete: 'ᠳᠤᠤᠰᠭᠠᠵᠤ ᠦᠷ ᠳᠦᠩ ᠪᠤᠴᠠᠭᠠᠬᠤ',
    outcome: 'ᠦᠷ ᠳᠦᠩ ᠪᠤᠴᠠᠭᠠᠬᠤ',
    close: 'ᠦᠷ ᠳᠦᠩ ᠪᠠᠲᠠᠯᠠᠵᠤ ᠬᠠᠭᠠᠬᠤ',
    reject: 'ᠲᠡᠪᠴᠢᠬᠦ',
    return: 'ᠪᠤᠴᠠᠭᠠᠬᠤ',
    cancel: 'ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠢ ᠴᠤᠴᠠᠯᠠᠬᠤ',
    contact_by: 'ᠬᠣᠯᠪᠤᠭᠳᠠᠬᠤ ᠡᠳᠦᠷ ᠢ ᠥᠭᠡᠷᠴᠢᠯᠡᠬᠦ',
    escalate: 'ᠴᠠᠭ ᠥᠩᠭᠡᠷᠡᠭᠰᠡᠨ ᠲᠤᠯᠠ ᠳᠡᠭᠡᠭᠰᠢ ᠮᠡᠳᠡᠭᠳᠡᠬᠦ',
    expire: 'ᠬᠤᠭᠤᠴᠠᠭ᠎ᠠ ᠳᠤᠤᠰᠪᠠ',
  },
  referrals: {
    show: 'ᠦᠵᠡᠭᠦᠯᠡᠬᠦ',
    sideAll: 'ᠪᠦᠬᠦ ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ',
    title: 'ᠬᠣᠶᠠᠷ ᠵᠦᠭ ᠲᠦ ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠨ ᠡᠮᠨᠡᠯᠡᠬᠦ',
    none: 'ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠦᠭᠡᠢ',
    direction: 'ᠰᠢᠯᠵᠢᠭᠦᠯᠡᠬᠦ ᠵᠦᠭ',
    urgency: 'ᠶᠠᠷᠠᠯᠲᠠᠢ ᠶᠢᠨ ᠬᠡᠮᠵᠢᠶ᠎ᠡ',
    to: 'ᠬᠦᠯᠡᠡᠨ ᠠᠪᠬᠤ ᠪᠠᠶᠢᠭᠤᠯᠭ᠎ᠠ',
    reason: 'ᠰᠢᠯᠵᠢᠭᠦᠯᠡᠬᠦ ᠰᠢᠯᠲᠠᠭᠠᠨ',
    diagnosisText: 'ᠣᠨᠣᠰᠢ ᠶᠢᠨ ᠨᠡᠷ᠎ᠡ',
    summary: 'ᠡᠪᠡᠴᠢᠨ ᠦ ᠪᠠᠶᠢᠳᠠᠯ ᠤᠨ ᠲᠣᠪᠴᠢ',
    contactBy: 'ᠬᠠᠮᠢᠭ ᠤᠳᠠᠠᠨ ᠬᠣᠯᠪᠤᠭᠳᠠᠬᠤ ᠡᠳᠦᠷ {at}',
    appointment: 'ᠦᠵᠡᠭᠦᠯᠬᠦ ᠴᠠᠭ {at}',
    outcome: 'ᠡᠮᠴᠢᠯᠭᠡᠨ ᠦ ᠦᠷ ᠳᠦᠩ',
    history: 'ᠶᠠᠪᠤᠴ᠎ᠠ',
    printSlip: 'ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲᠡ ᠶᠢᠨ ᠪᠢᠴᠢᠭ ᠬᠡᠪᠯᠡᠬᠦ',
    outcomeSummary: 'ᠡᠮᠴᠢᠯᠭᠡᠨ ᠦ ᠲᠣᠪᠴᠢ',
    recommendations: 'ᠭᠡᠷ ᠪᠦᠯᠢ ᠶᠢᠨ ᠡᠮᠴᠢ ᠳᠦ ᠥᠭᠬᠦ ᠰᠠᠨᠠᠯ',
    why: 'ᠰᠢᠯᠲᠠᠭᠠᠨ',
    patient: 'ᠡᠪᠡᠳᠴᠢᠨ᠄ {name} {rid}',
    new: 'ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠡᠬᠢᠯᠡᠬᠦ',
    toHint: 'ᠨᠢᠭᠡᠨ ᠡᠮᠨᠡᠯᠭᠡ ᠶᠢᠨ ᠬᠣᠯᠪᠤᠭ᠎ᠠ ᠶᠢᠨ ᠳᠡᠭᠡᠳᠦ ᠪᠠᠶᠢᠭᠤᠯᠭ᠎ᠠ ᠶᠢ ᠤᠷᠢᠳ ᠰᠠᠨᠠᠭᠤᠯᠤᠨ᠎ᠠ',
    inAlliance: 'ᠨᠢᠭᠡᠨ ᠡᠮᠨᠡᠯᠭᠡ ᠶᠢᠨ ᠬᠣᠯᠪᠤᠭ᠎ᠠ',
    diagnosisCode: 'ᠣᠨᠣᠰᠢ ᠶᠢᠨ ᠬᠣᠳ (ICD-10)',
    diagnosisHint: 'ᠬᠣᠳ ᠪᠤᠶᠤ ᠡᠪᠡᠳᠴᠢᠨ ᠦ ᠨᠡᠷ᠎ᠡ ᠪᠡᠷ ᠡᠷᠢᠨᠦ᠂ ᠵᠢᠰᠢᠶᠡᠯᠡᠪᠡᠯ I10',
    carePlan: 'ᠳᠣᠭᠣᠭᠰᠢ ᠰᠢᠯᠵᠢᠭᠦᠯᠬᠦ ᠠᠰᠠᠷᠠᠬᠤ ᠲᠥᠯᠥᠭᠡᠯᠭᠡ',
    send: 'ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠢ ᠲᠤᠰᠢᠶᠠᠬᠤ',
    sideReceived: 'ᠡᠨᠡ ᠡᠮᠨᠡᠯᠭᠡ ᠳᠦ ᠢᠷᠡᠭᠰᠡᠨ',
    sideSent: 'ᠡᠨᠡ ᠡᠮᠨᠡᠯᠭᠡ ᠡᠴᠡ ᠢᠯᠡᠭᠡᠭᠰᠡᠨ',
    noSlots: 'ᠬᠦᠯᠡᠡᠨ ᠠᠪᠬᠤ ᠪᠠᠶᠢᠭᠤᠯᠭ᠎ᠠ ᠳᠤ ᠣᠶᠢᠷ ᠠ ᠴᠠᠭ ᠲᠤ ᠪᠦᠷᠲᠡᠭᠦᠯᠬᠦ ᠴᠠᠭ ᠦᠭᠡᠢ',
    bookThis: 'ᠡᠨᠡ ᠴᠠᠭ ᠢ ᠪᠦᠷᠲᠡᠭᠦᠯᠡᠬᠦ',
  },
}

export default referrals
