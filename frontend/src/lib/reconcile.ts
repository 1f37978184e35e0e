/** Reconciliation of unmatched studies (`/api/v1/dicom/reconciliation`). */
import type { StudySummary } from './studies'
import { t } from '../i18n'
import type { Schemas } from './api'

export type DicomDemographics = Schemas['DicomDemographics']

export type UnmatchedStudy = Schemas['UnmatchedStudy']

export type AssignmentCheck = Schemas['AssignmentCheck']

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
