/** Patient shapes and the client-side checks of the registration form. */
import { t } from '../i18n'
import { parseResidentId } from './residentId'
import type { Schemas } from './api'

export type PatientPublic = Schemas['PatientPublic']

export interface PatientForm {
  name: string
  name_mn: string
  resident_id: string
  phone: string
  county_code: string
}

/** The message for a resident ID, or '' when it is valid. */
export function residentIdError(value: string): string {
  const r = parseResidentId(value)
  if (r.ok) return ''
  const { code, ...params } = r.problem
  return t(`residentId.${code}`, params as Record<string, string | number>)
}

/** Mongolian letters, punctuation, the variation selectors, MVS, NNBSP and spaces. */
const MONGOLIAN_NAME = /^[\u1800-\u18af\u202f\u200c\u200d ]+$/

/** A Mongolian name as typed on a phone keyboard, in the form it is stored and searched in
 * (NFC, trimmed, inner spaces single); null when empty. */
export function mongolianName(value: string): string | null {
  const s = value.normalize('NFC').trim().replace(/ +/g, ' ')
  return s || null
}

/** Field -> message for what the browser can check before sending. */
export function validatePatientForm(f: PatientForm): Record<string, string> {
  const out: Record<string, string> = {}
  if (!f.name.trim()) out.name = t('patients.nameRequired')
  const mn = mongolianName(f.name_mn)
  if (mn && !MONGOLIAN_NAME.test(mn)) out.name_mn = t('patients.nameMnScript')
  const rid = residentIdError(f.resident_id)
  if (rid) out.resident_id = rid
  if (f.phone && !/^1\d{10}$/.test(f.phone.trim())) out.phone = t('patients.phoneFormat')
  if (f.county_code && !/^\d{6}$/.test(f.county_code.trim())) out.county_code = t('patients.countyFormat')
  return out
}
