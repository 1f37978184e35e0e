/** Imaging studies as `GET /api/v1/studies` lists them. */
import type { Schemas } from './api'
export type StudySummary = Schemas['StudySummary']

/**
 * Studies to offer for a patient: those matched to the patient first, then those the archive
 * could not match to any patient (received from a modality under another ID), newest first
 * in each group. Studies matched to another patient are never offered.
 */
export function studiesForPatient(
  matched: StudySummary[],
  all: StudySummary[],
  patientId: string,
): { matched: StudySummary[]; unmatched: StudySummary[] } {
  const newest = (a: StudySummary, b: StudySummary) =>
    (b.study_date ?? '').localeCompare(a.study_date ?? '') || b.created_at.localeCompare(a.created_at)
  const mine = new Map<string, StudySummary>()
  for (const s of [...matched, ...all]) if (s.patient_id === patientId) mine.set(s.study_uid, s)
  const unmatched = all.filter((s) => s.patient_id === null && !mine.has(s.study_uid))
  return { matched: [...mine.values()].sort(newest), unmatched: [...unmatched].sort(newest) }
}
