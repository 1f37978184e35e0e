import { describe, expect, it } from 'vitest'
import { catalogues, lookup, setLocale, t } from '../src/i18n'
import { mongolianName, validatePatientForm } from '../src/lib/patients'

function keys(node: unknown, prefix = ''): string[] {
  if (typeof node === 'string') return [prefix]
  return Object.entries(node as Record<string, unknown>).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k))
}

const MONGOLIAN = /[\u1820-\u18aa]/
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((x) => x[1]).sort()

describe('mn-Mong catalogue', () => {
  it('has only keys of the Chinese one, each in Mongolian script with the same placeholders', () => {
    const mn = keys(catalogues['mn-Mong'])
    expect(mn.length).toBeGreaterThan(200)
    for (const key of mn) {
      const zh = lookup(catalogues['zh-CN'], key)
      const text = lookup(catalogues['mn-Mong'], key) ?? ''
      expect(zh, key).toBeDefined()
      expect(text, key).toMatch(MONGOLIAN)
      expect(text, key).not.toMatch(/[\u4e00-\u9fff]/)
      expect(placeholders(text), key).toEqual(placeholders(zh ?? ''))
    }
  })

  it('covers the shell, the menu and the patient pages', () => {
    for (const key of ['nav.home', 'nav.book', 'nav.referrals', 'nav.family', 'nav.notifications', 'nav.me', 'nav.logout', 'login.title',
      'booking.confirm', 'appointments.cancel', 'referralStatus.requested', 'contractStatus.active', 'notifications.title']) {
      expect(lookup(catalogues['mn-Mong'], key), key).toMatch(MONGOLIAN)
    }
  })

  it('writes suffixes after the narrow no-break space and separates a final a/e with the MVS', () => {
    expect(lookup(catalogues['mn-Mong'], 'role.family_doctor')).toBe('ᠭᠡᠷ ᠪᠦᠯᠢ\u202fᠶᠢᠨ ᠡᠮᠴᠢ')
    expect(lookup(catalogues['mn-Mong'], 'sex.female')).toBe('ᠡᠮ\u180eᠡ')
  })

  it('falls back to Chinese, never to English, for a key it lacks', () => {
    setLocale('mn-Mong')
    expect(lookup(catalogues['mn-Mong'], 'doctorTitle.chief_physician')).toBeUndefined()
    expect(t('doctorTitle.chief_physician')).toBe('主任医师')
    expect(t('nav.home')).toBe('ᠲᠡᠷᠢᠭᠦᠨ ᠨᠢᠭᠤᠷ')
    expect(t('booking.remaining', { n: 3 })).toBe('ᠦᠯᠡᠭᠰᠡᠨ 3')
    setLocale('zh-CN')
  })
})

describe('a Mongolian name typed on a phone', () => {
  const form = { name: '巴特尔', resident_id: '', phone: '', county_code: '' }

  it('is sent trimmed, NFC, with single spaces; empty as null', () => {
    expect(mongolianName('  ᠪᠠᠲᠦᠷ   ᠪᠣᠯᠣᠳ ')).toBe('ᠪᠠᠲᠦᠷ ᠪᠣᠯᠣᠳ')
    expect(mongolianName('ᠨᠠᠷᠠ\u180eᠠ')).toBe('ᠨᠠᠷᠠ\u180eᠠ')
    expect(mongolianName('   ')).toBeNull()
  })

  it('must be in the Mongolian script (variation selectors and NNBSP allowed)', () => {
    expect(validatePatientForm({ ...form, name_mn: 'ᠪᠠᠲᠦᠷ' }).name_mn).toBeUndefined()
    expect(validatePatientForm({ ...form, name_mn: 'ᠪᠠᠲᠦ\u180bᠷ' }).name_mn).toBeUndefined()
    expect(validatePatientForm({ ...form, name_mn: 'Batu' }).name_mn).toBe(t('patients.nameMnScript'))
    expect(validatePatientForm({ ...form, name_mn: '' }).name_mn).toBeUndefined()
  })
})
