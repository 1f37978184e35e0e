/**
 * The reading context of a study: the consultation it was opened from (question, patient),
 * whether the study's DICOM demographics agree with that patient (the server's field when it
 * gives one, else the same rule as the reconciliation page: name in any PN group, sex, birth
 * date), and the patient's other studies here and at the county PACS.
 */
import { client, ok, type Schemas } from './api'
import { tag, type DicomJson } from './dicom'
import type { StudySummary } from './studies'
import { C, dicomDate } from './viewerSeries'

export interface Prior {
  study_uid: string
  date: string
  modality: string
  description: string
}

export type ConsultationBrief = Pick<Schemas['ConsultationPublic'], 'id' | 'patient_id' | 'question'>

export type PatientBrief = Pick<Schemas['PatientPublic'], 'name' | 'sex' | 'birth_date'>

const SEX: Record<string, string> = { M: 'male', F: 'female' }

function nameForms(pn: string): Set<string> {
  const out = new Set<string>()
  for (const g of pn.split('=')) {
    const n = g.replace(/\^/g, ' ').split(/\s+/).join('').toLowerCase()
    if (n) out.add(n)
  }
  return out
}

/** Which of name, sex, birth date of the DICOM header disagree with our patient. */
export function demographicMismatches(meta: DicomJson, patient: PatientBrief): string[] {
  const v = tag<{ Alphabetic?: string; Ideographic?: string; Phonetic?: string } | string>(meta, C.PatientName) ?? ''
  const pn = typeof v === 'string' ? v : [v.Alphabetic ?? '', v.Ideographic ?? '', v.Phonetic ?? ''].join('=')
  const out: string[] = []
  if (!nameForms(pn).has(patient.name.split(/\s+/).join('').toLowerCase())) out.push('name')
  if (SEX[String(tag(meta, C.Sex) ?? '').trim().toUpperCase()] !== patient.sex) out.push('sex')
  if (dicomDate(tag(meta, C.BirthDate)) !== patient.birth_date) out.push('birth_date')
  return out
}

export async function loadConsultation(id: string): Promise<{ consultation: ConsultationBrief; patient: PatientBrief | null }> {
  const consultation: ConsultationBrief = await ok(
    client.GET('/api/v1/consultations/{consultation_id}', { params: { path: { consultation_id: id } } }),
  )
  let patient: PatientBrief | null = null
  try {
    patient = await ok(
      client.GET('/api/v1/patients/{patient_id}', { params: { path: { patient_id: consultation.patient_id } } }),
    )
  } catch {
    patient = null // not every reader may read the patient record; the server's field still warns
  }
  return { consultation, patient }
}

function asPrior(s: StudySummary): Prior {
  return { study_uid: s.study_uid, date: s.study_date ?? '', modality: s.modality, description: s.description }
}

/** The patient's other studies in our archive, newest first. */
export async function ourPriors(study: string): Promise<{ summary: StudySummary; priors: Prior[] }> {
  const summary = await ok(client.GET('/api/v1/studies/{study_uid}', { params: { path: { study_uid: study } } }))
  if (!summary.patient_id) return { summary, priors: [] }
  const page = await ok(
    client.GET('/api/v1/studies', { params: { query: { patient_id: summary.patient_id, limit: 50 } } }),
  )
  const priors = page.items
    .filter((s) => s.study_uid !== study)
    .map(asPrior)
    .sort((a, b) => b.date.localeCompare(a.date))
  return { summary, priors }
}

type PriorRow = Schemas['Prior']

/**
 * The patient's other studies by the priors route: `{items, county_pacs}` merging ours and
 * the county PACS's (each `in_archive` or not). Ours (openable side by side) and county-only
 * ones come back apart.
 */
export async function priorsOf(study: string, known: Prior[]): Promise<{ ours: Prior[]; county: Prior[]; countyDown: boolean }> {
  const answer = await ok(client.GET('/api/v1/studies/{study_uid}/priors', { params: { path: { study_uid: study } } }))
  const rows = answer.items
  const asPriorRow = (r: PriorRow): Prior => ({
    study_uid: r.study_uid, date: dicomDate(r.study_date ?? ''), modality: r.modalities, description: r.description ?? '',
  })
  const ids = new Set(known.map((p) => p.study_uid))
  const ours = [...known, ...rows.filter((r) => r.in_archive && !ids.has(r.study_uid)).map(asPriorRow)]
  const county = rows.filter((r) => !r.in_archive && !ids.has(r.study_uid)).map(asPriorRow)
  return { ours, county, countyDown: answer.county_pacs === 'unavailable' }
}

/** The consultation the study is read for: the one in the address, else the first of the
 * study's context (consultations the caller takes part in), when the server has that route. */
export async function contextConsultation(study: string, wanted: string | null): Promise<string | null> {
  if (wanted) return wanted
  try {
    const ctx = await ok(client.GET('/api/v1/studies/{study_uid}/context', { params: { path: { study_uid: study } } }))
    return ctx.consultations[0]?.id ?? null
  } catch {
    return null
  }
}

/** The server's demographic comparison of this study against the consultation's patient. */
export async function serverMismatches(consultation: string, study: string): Promise<string[] | null> {
  try {
    const links = await ok(
      client.GET('/api/v1/consultations/{consultation_id}/studies', { params: { path: { consultation_id: consultation } } }),
    )
    return links.find((l) => l.study_uid === study)?.mismatches ?? null
  } catch {
    return null
  }
}
