/**
 * Family doctors (家庭医生): contracts, home visits: traditional Mongolian script (mn-Mong).
 * DRAFTED WITHOUT A NATIVE REVIEWER: machine-assisted draft of the project's developers, to be
 * read by a native speaker before release (see ../mn-Mong.glossary.md). Keys left out fall
 * back to Chinese.
 */
import type zh from '../zh-CN/family'
import type { DeepPartial } from './types'

const family: DeepPartial<typeof zh> = {
  family: {
    homeVisits: 'ᠭᠡᠷ ᠲᠦ ᠨᠢ ᠦᠵᠢᠯᠴᠢᠯᠭᠡ',
    noHomeVisits: 'ᠭᠡᠷ ᠲᠦ ᠨᠢ ᠦᠵᠢᠯᠴᠢᠯᠭᠡ ᠶᠢᠨ ᠥᠴᠢᠭᠡᠯ ᠦᠭᠡᠢ',
    homeVisitReason: 'ᠭᠡᠷ ᠲᠦ ᠪᠡᠨ ᠢᠷᠡᠬᠦ ᠰᠢᠯᠲᠠᠭᠠᠨ',
    preferredDate: 'ᠬᠦᠰᠡᠭᠰᠡᠨ ᠡᠳᠦᠷ',
    preferred: 'ᠬᠦᠰᠡᠭᠰᠡᠨ ᠡᠳᠦᠷ {date}',
    requestHomeVisit: 'ᠭᠡᠷ ᠲᠦ ᠨᠢ ᠦᠵᠢᠯᠴᠢᠯᠭᠡ ᠥᠴᠢᠬᠦ',
    homeVisitSent: 'ᠲᠤᠰᠢᠶᠠᠭᠳᠠᠪᠠ᠂ ᠡᠮᠴᠢ ᠶᠢᠨ ᠪᠦᠯᠦᠭ ᠤᠳᠠᠬᠤ ᠦᠭᠡᠢ ᠵᠣᠬᠢᠶᠠᠨ᠎ᠠ',
    title: 'ᠭᠡᠷ ᠪᠦᠯᠢ ᠶᠢᠨ ᠡᠮᠴᠢ ᠶᠢᠨ ᠭᠡᠷ᠎ᠡ',
    myContracts: 'ᠮᠢᠨᠤ ᠭᠡᠷ᠎ᠡ',
    noContract: 'ᠲᠠ ᠭᠡᠷ ᠪᠦᠯᠢ ᠶᠢᠨ ᠡᠮᠴᠢ ᠲᠡᠢ ᠭᠡᠷ᠎ᠡ ᠪᠠᠶᠢᠭᠤᠯᠠᠭᠠ ᠦᠭᠡᠢ',
    printContract: 'ᠭᠡᠷ᠎ᠡ ᠶᠢ ᠬᠡᠪᠯᠡᠬᠦ',
    term: 'ᠦᠵᠢᠯᠴᠢᠯᠭᠡ ᠶᠢᠨ ᠬᠤᠭᠤᠴᠠᠭ᠎ᠠ {start} ᠡᠴᠡ {end} ᠬᠦᠷᠲᠡᠯᠡ',
    packages: 'ᠦᠵᠢᠯᠴᠢᠯᠭᠡ ᠶᠢᠨ ᠪᠠᠭᠴ᠎ᠠ',
    nothing: 'ᠦᠭᠡᠢ',
    done: 'ᠳᠤᠤᠰᠪᠠ',
    signSelf: 'ᠭᠡᠷ᠎ᠡ ᠪᠠᠶᠢᠭᠤᠯᠬᠤ ᠪᠤᠶᠤ ᠰᠤᠩᠭᠠᠬᠤ',
    teamLabel: 'ᠭᠡᠷ ᠪᠦᠯᠢ ᠶᠢᠨ ᠡᠮᠴᠢ ᠶᠢᠨ ᠪᠦᠯᠦᠭ',
    fee: 'ᠵᠢᠯ ᠳᠦ {fee} ᠶᠤᠸᠠᠨ',
    sign: 'ᠭᠡᠷ᠎ᠡ ᠪᠠᠶᠢᠭᠤᠯᠬᠤ',
    signed: 'ᠭᠡᠷ᠎ᠡ ᠠᠮᠵᠢᠯᠲᠲᠠᠢ᠄ {status}᠂ ᠬᠤᠭᠤᠴᠠᠭ᠎ᠠ {start} ᠡᠴᠡ {end} ᠬᠦᠷᠲᠡᠯᠡ',
    patientReferrals: 'ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠦᠨ ᠲᠡᠮᠳᠡᠭᠯᠡᠯ',
    signedAt: '{at} ᠥᠴᠢᠭᠳᠡᠪᠡ',
    confirm: 'ᠭᠡᠷ᠎ᠡ ᠶᠢ ᠪᠠᠲᠠᠯᠠᠬᠤ',
    team: '{name}᠄ {contracted} / {capacity} ᠬᠦᠮᠦᠨ ᠭᠡᠷ᠎ᠡ ᠪᠠᠶᠢᠭᠤᠯᠪᠠ',
    overdue: 'ᠴᠠᠭ ᠠᠴᠠ ᠬᠣᠴᠣᠷᠤᠭᠰᠠᠨ ᠳᠠᠭᠠᠨ ᠦᠵᠢᠯᠭᠡ',
    followUpDue: '{pkg} ᠶᠢᠨ ᠳᠠᠭᠠᠨ ᠦᠵᠢᠯᠭᠡ᠂ {due}',
    carePlans: 'ᠠᠰᠠᠷᠠᠬᠤ ᠲᠥᠯᠥᠭᠡᠯᠭᠡ ᠪᠠ ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠦᠨ ᠰᠠᠨᠠᠯ',
    waiting: 'ᠡᠨᠡ ᠪᠠᠶᠢᠭᠤᠯᠭ᠎ᠠ ᠶᠢᠨ ᠰᠢᠢᠳᠬᠡᠬᠦ ᠶᠢ ᠬᠦᠯᠢᠴᠡᠵᠦ ᠪᠠᠶᠢᠭ᠎ᠠ ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ',
    noTeam: 'ᠲᠠ ᠠᠯᠢ ᠴᠤ ᠭᠡᠷ ᠪᠦᠯᠢ ᠶᠢᠨ ᠡᠮᠴᠢ ᠶᠢᠨ ᠪᠦᠯᠦᠭ ᠲᠦ ᠪᠠᠢᠬᠤ ᠦᠭᠡᠢ',
    signFor: 'ᠢᠷᠭᠡᠨ ᠳᠦ ᠭᠡᠷ᠎ᠡ ᠪᠠᠶᠢᠭᠤᠯᠬᠤ (ᠵᠥᠪ ᠰᠡᠳᠬᠢᠯ ᠦᠨ ᠵᠥᠪᠰᠢᠶᠡᠷᠡᠯ ᠢ ᠲᠡᠮᠳᠡᠭᠯᠡᠨᠦ)',
    picked: 'ᠰᠣᠩᠭᠣᠭᠰᠠᠨ ᠡᠪᠡᠳᠴᠢᠨ᠄ {name}',
    pickPatient: 'ᠡᠩ ᠲᠡᠷᠢᠭᠦᠨ ᠳᠦ ᠡᠪᠡᠳᠴᠢᠨ ᠢ ᠡᠷᠢᠵᠦ ᠰᠣᠩᠭᠣᠨᠦ',
    consentMethod: 'ᠵᠥᠪᠰᠢᠶᠡᠷᠡᠯ ᠦᠨ ᠠᠷᠭ᠎ᠠ',
    witness: 'ᠭᠡᠷᠡᠴᠢ',
    note: 'ᠲᠠᠶᠢᠯᠪᠤᠷᠢ',
    homeBedsDue: 'ᠭᠡᠷ ᠦᠨ ᠡᠪᠡᠳᠴᠢᠨ ᠦ ᠣᠷ᠎ᠠ ᠪᠠ ᠭᠡᠷ ᠲᠦ ᠨᠢ ᠦᠵᠢᠯᠴᠢᠯᠭᠡ',
    toHomeBeds: 'ᠭᠡᠷ ᠦᠨ ᠡᠪᠡᠳᠴᠢᠨ ᠦ ᠣᠷ᠎ᠠ ᠳᠤ ᠣᠷᠬᠤ',
    pending: 'ᠪᠠᠲᠠᠯᠠᠬᠤ ᠶᠢ ᠬᠦᠯᠢᠴᠡᠵᠦ ᠪᠠᠶᠢᠭ᠎ᠠ ᠭᠡᠷ᠎ᠡ (ᠢᠷᠭᠡᠨ ᠦ ᠥᠴᠢᠭᠡᠯ)',
    noPending: 'ᠪᠠᠲᠠᠯᠠᠬᠤ ᠶᠢ ᠬᠦᠯᠢᠴᠡᠵᠦ ᠪᠠᠶᠢᠭ᠎ᠠ ᠭᠡᠷ᠎ᠡ ᠦᠭᠡᠢ',
    toIncoming: 'ᠡᠨᠡ ᠪᠠᠶᠢᠭᠤᠯᠭ᠎ᠠ ᠳᠤ ᠢᠷᠡᠭᠰᠡᠨ ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠢ ᠰᠢᠢᠳᠬᠡᠬᠦ',
  },
  homeVisitStatus: {
    requested: 'ᠵᠣᠬᠢᠶᠠᠬᠤ ᠶᠢ ᠬᠦᠯᠢᠴᠡᠵᠦ ᠪᠠᠶᠢᠨ᠎ᠠ',
    scheduled: 'ᠵᠣᠬᠢᠶᠠᠪᠠ',
    done: 'ᠳᠤᠤᠰᠪᠠ',
    cancelled: 'ᠴᠤᠴᠠᠯᠠᠭᠳᠠᠪᠠ',
  },
  contractStatus: {
    pending: 'ᠪᠠᠲᠠᠯᠠᠬᠤ ᠶᠢ ᠬᠦᠯᠢᠴᠡᠵᠦ ᠪᠠᠶᠢᠨ᠎ᠠ',
    active: 'ᠬᠦᠴᠦᠨ ᠲᠡᠢ',
    expired: 'ᠬᠤᠭᠤᠴᠠᠭ᠎ᠠ ᠳᠤᠤᠰᠪᠠ',
    terminated: 'ᠭᠡᠷ᠎ᠡ ᠲᠠᠰᠤᠯᠪᠠ',
  },
}

export default family
