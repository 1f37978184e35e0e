/** Patient shapes and the client-side checks of the registration form. */
import { t } from '../i18n'
import { parseResidentId } from './residentId'

export interface PatientPublic {
  id: string
  name: string
  sex: 'male' | 'female'
  birth_date: string
  resident_id_masked: string
  phone_masked: string | null
  institution_id: string | null
  county_code: string | null
}

export interface PatientForm {
  name: string
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

/** Field -> message for what the browser can check before sending. */
export function validatePatientForm(f: PatientForm): Record<string, string> {
  const out: Record<string, string> = {}
  if (!f.name.trim()) out.name = t('patients.nameRequired')
  const rid = residentIdError(f.resident_id)
  if (rid) out.resident_id = rid
  if (f.phone && !/^1\d{10}$/.test(f.phone.trim())) out.phone = t('patients.phoneFormat')
  if (f.county_code && !/^\d{6}$/.test(f.county_code.trim())) out.county_code = t('patients.countyFormat')
  return out
}
