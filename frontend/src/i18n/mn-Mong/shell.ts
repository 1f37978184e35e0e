/**
 * Application shell: name, roles, menu, sign-in, home, my profile, tables, notifications: traditional Mongolian script (mn-Mong).
 * DRAFTED WITHOUT A NATIVE REVIEWER: machine-assisted draft of the project's developers, to be
 * read by a native speaker before release (see ../mn-Mong.glossary.md). Keys left out fall
 * back to Chinese.
 */
import type zh from '../zh-CN/shell'
import type { DeepPartial } from './types'

const shell: DeepPartial<typeof zh> = {
  app: {
    name: 'ᠠᠯᠤᠰ ᠤᠨ ᠡᠮᠨᠡᠯᠭᠡ ᠶᠢᠨ ᠬᠠᠮᠲᠤ ᠠᠵᠢᠯᠯᠠᠬᠤ ᠲᠠᠪᠴᠠᠩ',
    short: 'ᠠᠯᠤᠰ ᠤᠨ ᠡᠮᠨᠡᠯᠭᠡ',
    skip: 'ᠭᠣᠯ ᠠᠭᠤᠯᠭ᠎ᠠ ᠳᠤ ᠤᠰᠤᠷᠬᠤ',
    loading: 'ᠠᠴᠠᠭᠠᠯᠠᠵᠤ ᠪᠠᠶᠢᠨ᠎ᠠ…',
    language: 'ᠬᠡᠯᠡ',
    menu: 'ᠴᠡᠰ',
    close: 'ᠬᠠᠭᠠᠬᠤ',
  },
  role: {
    patient: 'ᠡᠪᠡᠳᠴᠢᠨ',
    family_doctor: 'ᠭᠡᠷ ᠪᠦᠯᠢ ᠶᠢᠨ ᠡᠮᠴᠢ',
    county_doctor: 'ᠰᠢᠶᠠᠨ ᠤ ᠡᠮᠴᠢ',
    specialist: 'ᠮᠡᠷᠭᠡᠵᠢᠯᠲᠦ ᠡᠮᠴᠢ',
    coordinator: 'ᠵᠣᠬᠢᠶᠠᠴᠠᠭᠤᠯᠤᠭᠴᠢ',
    admin: 'ᠬᠠᠮᠠᠭᠠᠷᠤᠭᠴᠢ',
  },
  sex: {
    male: 'ᠡᠷ᠎ᠡ',
    female: 'ᠡᠮ᠎ᠡ',
  },
  nav: {
    schedules: 'ᠠᠵᠢᠯ ᠤᠨ ᠬᠤᠪᠢᠶᠠᠷᠢ',
    family: 'ᠭᠡᠷ ᠪᠦᠯᠢ ᠶᠢᠨ ᠡᠮᠴᠢ',
    referrals: 'ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠨ ᠡᠮᠨᠡᠯᠡᠬᠦ',
    notifications: 'ᠮᠡᠳᠡᠭᠡ',
    home: 'ᠲᠡᠷᠢᠭᠦᠨ ᠨᠢᠭᠤᠷ',
    network: 'ᠰᠦᠯᠵᠢᠶ᠎ᠡ ᠶᠢᠨ ᠲᠣᠶᠢᠮ',
    patients: 'ᠡᠪᠡᠳᠴᠢᠨ',
    audit: 'ᠬᠢᠨᠠᠯᠲᠠ ᠶᠢᠨ ᠲᠡᠮᠳᠡᠭᠯᠡᠯ',
    outbox: 'ᠢᠯᠡᠭᠡᠵᠦ ᠴᠢᠳᠠᠭᠰᠠᠨ ᠦᠭᠡᠢ',
    book: 'ᠤᠷᠢᠳ ᠴᠢᠯᠠᠨ ᠪᠦᠷᠲᠡᠭᠦᠯᠡᠬᠦ',
    appointments: 'ᠮᠢᠨᠤ ᠪᠣᠯᠵᠢᠶᠠᠯ',
    consultations: 'ᠬᠠᠮᠲᠤ ᠣᠨᠣᠰᠢᠯᠠᠬᠤ',
    newConsultation: 'ᠬᠠᠮᠲᠤ ᠣᠨᠣᠰᠢᠯᠠᠬᠤ ᠶᠢ ᠡᠬᠢᠯᠡᠬᠦ',
    studies: 'ᠳᠦᠷᠰᠦ ᠣᠨᠣᠰᠢᠯᠠᠭ᠎ᠠ',
    me: 'ᠮᠢᠨᠤ ᠮᠡᠳᠡᠭᠡᠯᠡᠯ',
    logout: 'ᠭᠠᠷᠬᠤ',
    dashboard: 'ᠠᠵᠢᠯᠯᠠᠭ᠎ᠠ ᠶᠢᠨ ᠰᠠᠮᠪ᠎ᠠ',
    reconcile: 'ᠳᠦᠷᠰᠦ ᠲᠤᠯᠭᠠᠬᠤ',
    homeBeds: 'ᠭᠡᠷ ᠦᠨ ᠡᠪᠡᠳᠴᠢᠨ ᠦ ᠣᠷ᠎ᠠ',
    payments: 'ᠲᠥᠯᠦᠬᠦ ᠲᠥᠯᠦᠪᠦᠷᠢ',
  },
  login: {
    title: 'ᠨᠡᠪᠲᠡᠷᠡᠬᠦ',
    subtitle: 'ᠣᠪᠤᠷ ᠮᠣᠩᠭᠣᠯ ᠤᠨ ᠠᠯᠤᠰ ᠤᠨ ᠡᠮᠨᠡᠯᠭᠡ ᠶᠢᠨ ᠬᠠᠮᠲᠤ ᠠᠵᠢᠯᠯᠠᠬᠤ ᠰᠦᠯᠵᠢᠶ᠎ᠡ',
    username: 'ᠬᠡᠷᠡᠭᠯᠡᠭᠴᠢ ᠶᠢᠨ ᠨᠡᠷ᠎ᠡ',
    password: 'ᠨᠢᠭᠤᠴᠠ ᠦᠭᠡ',
    submit: 'ᠨᠡᠪᠲᠡᠷᠡᠬᠦ',
    submitting: 'ᠨᠡᠪᠲᠡᠷᠡᠵᠦ ᠪᠠᠶᠢᠨ᠎ᠠ…',
    demoHint: 'ᠦᠵᠡᠭᠦᠯᠡᠬᠦ ᠳᠠᠩᠰ᠎ᠠ ᠶᠢᠨ ᠨᠢᠭᠤᠴᠠ ᠦᠭᠡ ᠪᠦᠭᠦᠳᠡ telemed-demo',
    expiredTitle: 'ᠨᠡᠪᠲᠡᠷᠡᠯᠲ ᠦᠨ ᠬᠤᠭᠤᠴᠠᠭ᠎ᠠ ᠳᠤᠤᠰᠪᠠ',
    expiredBody: 'ᠳᠠᠬᠢᠨ ᠨᠡᠪᠲᠡᠷᠡᠨᠦ᠃ ᠨᠡᠪᠲᠡᠷᠡᠭᠰᠡᠨ ᠦ ᠳᠠᠷᠠᠭ᠎ᠠ ᠰᠠᠶᠢᠨ ᠤ ᠠᠵᠢᠯᠯᠠᠭ᠎ᠠ ᠪᠠᠨ ᠦᠷᠭᠡᠯᠵᠢᠯᠦᠨ᠎ᠡ᠂ ᠪᠢᠴᠢᠭᠰᠡᠨ ᠠᠭᠤᠯᠭ᠎ᠠ ᠠᠯᠳᠠᠶ᠎ᠠ ᠦᠭᠡᠢ᠃',
  },
  home: {
    welcome: 'ᠰᠠᠶᠢᠨ ᠪᠠᠶᠢᠨ᠎ᠠ ᠤᠤ᠂ {name}',
    roleLine: 'ᠪᠡᠶ᠎ᠡ ᠶᠢᠨ ᠪᠠᠶᠢᠳᠠᠯ᠄ {role}',
    intro: 'ᠳᠣᠣᠷᠠᠬ ᠠᠵᠢᠯ ᠠᠴᠠ ᠡᠬᠢᠯᠡᠨᠦ᠄',
  },
  me: {
    title: 'ᠮᠢᠨᠤ ᠮᠡᠳᠡᠭᠡᠯᠡᠯ',
    username: 'ᠬᠡᠷᠡᠭᠯᠡᠭᠴᠢ ᠶᠢᠨ ᠨᠡᠷ᠎ᠡ',
    fullName: 'ᠨᠡᠷ᠎ᠡ',
    role: 'ᠪᠡᠶ᠎ᠡ ᠶᠢᠨ ᠪᠠᠶᠢᠳᠠᠯ',
    institution: 'ᠪᠠᠶᠢᠭᠤᠯᠭ᠎ᠠ',
    specialty: 'ᠮᠡᠷᠭᠡᠵᠢᠯ',
    titleField: 'ᠮᠡᠷᠭᠡᠵᠢᠯ ᠦᠨ ᠴᠣᠯᠠ',
    changePassword: 'ᠨᠢᠭᠤᠴᠠ ᠦᠭᠡ ᠵᠠᠰᠠᠬᠤ',
    currentPassword: 'ᠣᠳᠣᠬᠢ ᠨᠢᠭᠤᠴᠠ ᠦᠭᠡ',
    newPassword: 'ᠰᠢᠨᠡ ᠨᠢᠭᠤᠴᠠ ᠦᠭᠡ',
    confirmPassword: 'ᠰᠢᠨᠡ ᠨᠢᠭᠤᠴᠠ ᠦᠭᠡ ᠪᠡᠨ ᠳᠠᠬᠢᠨ ᠣᠷᠤᠭᠤᠯᠬᠤ',
    passwordHint: 'ᠳᠣᠷ᠎ᠣ ᠬᠠᠶᠠᠵᠢ 10 ᠲᠡᠮᠳᠡᠭᠲ᠂ ᠬᠡᠷᠡᠭᠯᠡᠭᠴᠢ ᠶᠢᠨ ᠨᠡᠷ᠎ᠡ ᠪᠤᠶᠤ ᠨᠡᠷ᠎ᠡ ᠡᠴᠡ ᠪᠦᠲᠦᠭᠰᠡᠨ ᠨᠢᠭᠤᠴᠠ ᠦᠭᠡ ᠪᠢᠲᠡᠭᠡᠢ ᠬᠡᠷᠡᠭᠯᠡᠭᠲᠦᠨ᠎ᠡ',
    passwordMismatch: 'ᠬᠣᠶᠠᠷ ᠤᠳᠠᠭ᠎ᠠ ᠣᠷᠤᠭᠤᠯᠰᠠᠨ ᠰᠢᠨᠡ ᠨᠢᠭᠤᠴᠠ ᠦᠭᠡ ᠠᠳᠠᠯᠢ ᠦᠭᠡᠢ',
    passwordChanged: 'ᠨᠢᠭᠤᠴᠠ ᠦᠭᠡ ᠵᠠᠰᠠᠭᠳᠠᠪᠠ᠂ ᠪᠤᠰᠤ ᠲᠥᠬᠥᠥᠷᠥᠮᠵᠢ ᠶᠢᠨ ᠨᠡᠪᠲᠡᠷᠡᠯᠲ ᠭᠠᠷᠭᠠᠭᠳᠠᠪᠠ',
    mustChange: 'ᠬᠠᠮᠠᠭᠠᠷᠤᠭᠴᠢ ᠨᠢᠭᠤᠴᠠ ᠦᠭᠡ ᠪᠡᠨ ᠵᠠᠰᠠᠬᠤ ᠶᠢ ᠰᠠᠭᠠᠷᠠᠭᠤᠯᠪᠠ᠂ ᠵᠠᠰᠠᠭᠰᠠᠨ ᠤ ᠳᠠᠷᠠᠭ᠎ᠠ ᠦᠷᠭᠡᠯᠵᠢᠯᠦᠨ᠎ᠡ᠃',
    savePassword: 'ᠨᠢᠭᠤᠴᠠ ᠦᠭᠡ ᠵᠠᠰᠠᠬᠤ',
    myRecord: 'ᠮᠢᠨᠤ ᠡᠪᠡᠳᠴᠢᠨ ᠦ ᠳᠠᠩᠰ᠎ᠠ',
  },
  table: {
    prev: 'ᠡᠮᠦᠨᠡᠬᠢ ᠬᠠᠭᠤᠳᠠᠰᠤ',
    next: 'ᠳᠠᠷᠠᠬᠢ ᠬᠠᠭᠤᠳᠠᠰᠤ',
    page: '{from}–{to}᠂ ᠨᠢᠶᠲ {total}',
    empty: 'ᠮᠡᠳᠡᠭᠡᠯᠡᠯ ᠦᠭᠡᠢ',
  },
  notifications: {
    title: 'ᠮᠡᠳᠡᠭᠡ',
    none: 'ᠮᠡᠳᠡᠭᠡ ᠦᠭᠡᠢ',
    readAll: 'ᠪᠦᠭᠦᠳᠡᠭᠡᠷ ᠢ ᠤᠩᠰᠢᠭᠰᠠᠨ ᠪᠣᠯᠭᠠᠬᠤ',
    markRead: 'ᠤᠩᠰᠢᠭᠰᠠᠨ ᠪᠣᠯᠭᠠᠬᠤ',
  },
}

export default shell
