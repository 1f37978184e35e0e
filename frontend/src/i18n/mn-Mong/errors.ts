/**
 * Messages of the API problem codes the patient meets: traditional Mongolian script (mn-Mong).
 * DRAFTED WITHOUT A NATIVE REVIEWER: machine-assisted draft of the project's developers, to be
 * read by a native speaker before release (see ../mn-Mong.glossary.md). Keys left out fall
 * back to Chinese.
 */
import type zh from '../zh-CN/errors'
import type { DeepPartial } from './types'

const errors: DeepPartial<typeof zh> = {
  errors: {
    slot_full: 'ᠡᠨᠡ ᠴᠠᠭ ᠳᠦᠦᠷᠴᠡᠢ᠂ ᠥᠭᠡᠷ᠎ᠡ ᠴᠠᠭ ᠰᠣᠩᠭᠣᠨᠦ',
    hold_expired: 'ᠬᠠᠳᠠᠭᠠᠯᠠᠯᠲ ᠤᠨ ᠴᠠᠭ ᠳᠤᠤᠰᠪᠠ᠂ ᠳᠠᠬᠢᠨ ᠪᠦᠷᠲᠡᠭᠦᠯᠨᠦ',
    person_overlap: 'ᠡᠨᠡ ᠴᠠᠭ ᠲᠤ ᠲᠠ ᠥᠭᠡᠷ᠎ᠡ ᠪᠣᠯᠵᠢᠶᠠᠯ ᠲᠠᠢ',
    too_late_to_cancel: 'ᠦᠵᠡᠭᠦᠯᠬᠦ ᠴᠠᠭ ᠣᠶᠢᠷ ᠠ ᠲᠤᠯᠠ ᠰᠦᠯᠵᠢᠶ᠎ᠡ ᠪᠡᠷ ᠴᠤᠴᠠᠯᠠᠵᠤ ᠴᠢᠳᠠᠬᠤ ᠦᠭᠡᠢ',
    slot_withdrawn: 'ᠡᠨᠡ ᠴᠠᠭ ᠤᠨ ᠦᠵᠯᠡᠭ ᠡᠪᠳᠡᠷᠡᠪᠠ',
    slot_in_past: 'ᠡᠨᠡ ᠴᠠᠭ ᠥᠩᠭᠡᠷᠡᠴᠡᠢ',
    network: 'ᠰᠡᠷᠪᠡᠷ ᠲᠦ ᠬᠣᠯᠪᠤᠭᠳᠠᠵᠤ ᠴᠢᠳᠠᠬᠤ ᠦᠭᠡᠢ᠂ ᠰᠦᠯᠵᠢᠶ᠎ᠡ ᠪᠡᠨ ᠰᠢᠨᠵᠢᠯᠡᠨᠦ',
    unauthorized: 'ᠬᠡᠷᠡᠭᠯᠡᠭᠴᠢ ᠶᠢᠨ ᠨᠡᠷ᠎ᠡ ᠪᠤᠶᠤ ᠨᠢᠭᠤᠴᠠ ᠦᠭᠡ ᠪᠤᠷᠤᠤ',
    forbidden: 'ᠲᠠᠨ ᠳᠤ ᠡᠨᠡ ᠠᠵᠢᠯᠯᠠᠭ᠎ᠠ ᠶᠢ ᠬᠢᠬᠦ ᠡᠷᠬᠡ ᠦᠭᠡᠢ',
    not_found: 'ᠡᠨᠡ ᠲᠡᠮᠳᠡᠭᠯᠡᠯ ᠣᠯᠳᠠᠬᠤ ᠦᠭᠡᠢ',
    invalid: 'ᠪᠢᠴᠢᠭᠰᠡᠨ ᠠᠭᠤᠯᠭ᠎ᠠ ᠳᠤ ᠠᠯᠳᠠᠭ᠎ᠠ ᠪᠠᠶᠢᠨ᠎ᠠ᠂ ᠲᠡᠮᠳᠡᠭᠯᠡᠭᠰᠡᠨ ᠵᠦᠢᠯ ᠢ ᠰᠢᠨᠵᠢᠯᠡᠨᠦ',
    wrong_credentials: 'ᠬᠡᠷᠡᠭᠯᠡᠭᠴᠢ ᠶᠢᠨ ᠨᠡᠷ᠎ᠡ ᠪᠤᠶᠤ ᠨᠢᠭᠤᠴᠠ ᠦᠭᠡ ᠪᠤᠷᠤᠤ',
    unavailable: 'ᠦᠵᠢᠯᠴᠢᠯᠭᠡ ᠲᠦᠷ ᠵᠣᠭᠰᠣᠪᠠ᠂ ᠬᠣᠶᠢᠨ᠎ᠠ ᠳᠠᠬᠢᠨ ᠣᠷᠤᠯᠳᠤᠨᠦ',
    generic: 'ᠠᠵᠢᠯᠯᠠᠭ᠎ᠠ ᠪᠦᠲᠦᠭᠰᠡᠨ ᠦᠭᠡᠢ ({status})',
    fieldInvalid: 'ᠡᠨᠡ ᠵᠦᠢᠯ ᠪᠤᠷᠤᠤ',
    serverSaid: 'ᠰᠡᠷᠪᠡᠷ ᠦᠨ ᠲᠠᠶᠢᠯᠪᠤᠷᠢ᠄ {detail}',
    pageNotFound: 'ᠬᠠᠭᠤᠳᠠᠰᠤ ᠣᠯᠳᠠᠬᠤ ᠦᠭᠡᠢ',
    backHome: 'ᠲᠡᠷᠢᠭᠦᠨ ᠨᠢᠭᠤᠷ ᠲᠦ ᠪᠤᠴᠠᠬᠤ',
    active_contract_exists: 'ᠡᠨᠡ ᠢᠷᠭᠡᠨ ᠬᠦᠴᠦᠨ ᠲᠡᠢ ᠭᠡᠷ᠎ᠡ ᠲᠡᠢ',
    contract_pending: 'ᠪᠦᠯᠦᠭ ᠦᠨ ᠪᠠᠲᠠᠯᠠᠬᠤ ᠶᠢ ᠬᠦᠯᠢᠴᠡᠵᠦ ᠪᠠᠶᠢᠭᠠ ᠭᠡᠷ᠎ᠡ ᠪᠠᠶᠢᠨ᠎ᠠ',
  },
}

export default errors
