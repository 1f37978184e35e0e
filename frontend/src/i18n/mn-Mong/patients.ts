/**
 * Patients: my record (the labels of the patient's own record): traditional Mongolian script (mn-Mong).
 * DRAFTED WITHOUT A NATIVE REVIEWER: machine-assisted draft of the project's developers, to be
 * read by a native speaker before release (see ../mn-Mong.glossary.md). Keys left out fall
 * back to Chinese.
 */
import type zh from '../zh-CN/patients'
import type { DeepPartial } from './types'

const patients: DeepPartial<typeof zh> = {
  patients: {
    name: 'ᠨᠡᠷ᠎ᠡ',
    sex: 'ᠬᠦᠶᠢᠰ',
    birthDate: 'ᠲᠥᠷᠦᠭᠰᠡᠨ ᠡᠳᠦᠷ',
    residentId: 'ᠢᠷᠭᠡᠨ ᠦ ᠪᠡᠶ᠎ᠡ ᠶᠢᠨ ᠦᠨᠡᠮᠯᠡᠬᠦ ᠶᠢᠨ ᠳᠤᠭᠠᠷ',
    phone: 'ᠭᠠᠷ ᠤᠲᠠᠰᠤ ᠶᠢᠨ ᠳᠤᠭᠠᠷ',
    optional: '(ᠰᠣᠩᠭᠣᠨ ᠪᠢᠴᠢᠨᠦ)',
    nameMn: 'ᠮᠣᠩᠭᠣᠯ ᠨᠡᠷ᠎ᠡ',
    nameMnHint: 'ᠭᠠᠷ ᠤᠲᠠᠰᠤ ᠶᠢᠨ ᠮᠣᠩᠭᠣᠯ ᠦᠰᠤᠭ ᠦᠨ ᠭᠠᠷ ᠢᠶᠠᠷ ᠣᠷᠤᠭᠤᠯᠨᠤ᠂ ᠡᠷᠢᠬᠦ ᠳᠦ ᠴᠢ ᠬᠡᠷᠡᠭᠯᠡᠵᠦ ᠪᠣᠯᠣᠨ᠎ᠠ',
    nameMnScript: 'ᠮᠣᠩᠭᠣᠯ ᠪᠢᠴᠢᠭ ᠦᠨ ᠦᠰᠤᠭ ᠢᠶᠡᠷ ᠣᠷᠤᠭᠤᠯᠨᠤ',
  },
}

export default patients
