/** Reconciliation of unmatched studies (`/api/v1/dicom/reconciliation`). */
import type { StudySummary } from './studies'
import { t } from '../i18n'

export interface DicomDemographics {
  patient_name: string
  patient_sex: string
  patient_birth_date: string
  dicom_patient_id: string
}

export interface UnmatchedStudy {
  study: StudySummary
  dicom: DicomDemographics
}

export interface AssignmentCheck {
  study_uid: string
  dicom: DicomDemographics
  patient: { id: string; name: string; sex: string; birth_date: string }
  mismatches: Array<'name' | 'sex' | 'birth_date'>
}

/** Consultation states that still take attachments (as the server decides). */
export const ATTACHABLE = ['draft', 'submitted', 'accepted', 'scheduled', 'in_session']

/** A DICOM DA value (YYYYMMDD) as YYYY-MM-DD; anything else as it came. */
export function formatDicomDate(value: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value.trim())
  return m ? `${m[1]}-${m[2]}-${m[3]}` : value
}

/** A DICOM PatientSex code (M, F, O) in the user's language. */
export function dicomSex(code: string): string {
  const c = code.trim().toUpperCase()
  if (c === 'M') return t('sex.male')
  if (c === 'F') return t('sex.female')
  return c ? t('reconcile.otherSex') : '—'
}
