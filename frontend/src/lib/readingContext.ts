/**
 * The reading context of a study: the consultation it was opened from (question, patient),
 * whether the study's DICOM demographics agree with that patient (the server's field when it
 * gives one, else the same rule as the reconciliation page: name in any PN group, sex, birth
 * date), and the patient's other studies here and at the county PACS.
 */
import { request } from './api'
import { tag, type DicomJson } from './dicom'
import type { StudySummary } from './studies'
import { C, dicomDate } from './viewerSeries'

export interface Prior {
  study_uid: string
  date: string
  modality: string
  description: string
}

export interface ConsultationBrief {
  id: string
  patient_id: string
  question: string
  demographic_mismatches?: string[]
}

export interface PatientBrief {
  name: string
  sex: string
  birth_date: string
}

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
  const consultation = await request<ConsultationBrief>(`/consultations/${id}`)
  let patient: PatientBrief | null = null
  try {
    patient = await request<PatientBrief>(`/patients/${consultation.patient_id}`)
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
  const summary = await request<StudySummary>(`/studies/${study}`)
  if (!summary.patient_id) return { summary, priors: [] }
  const page = await request<{ items: StudySummary[] }>('/studies', { query: { patient_id: summary.patient_id, limit: 50 } })
  const priors = page.items
    .filter((s) => s.study_uid !== study)
    .map(asPrior)
    .sort((a, b) => b.date.localeCompare(a.date))
  return { summary, priors }
}

interface PriorRow {
  study_uid: string
  study_date: string | null
  modalities: string
  description?: string
  in_archive?: boolean
}

/**
 * The patient's other studies by the priors route: `{items, county_pacs}` merging ours and
 * the county PACS's (each `in_archive` or not), or, from an older server, the county's C-FIND
 * list alone. Ours (openable side by side) and county-only ones come back apart.
 */
export async function priorsOf(study: string, known: Prior[]): Promise<{ ours: Prior[]; county: Prior[]; countyDown: boolean }> {
  const answer = await request<PriorRow[] | { items: PriorRow[]; county_pacs: string }>(`/studies/${study}/priors`)
  const rows = Array.isArray(answer) ? answer.map((r) => ({ ...r, in_archive: false })) : answer.items
  const asPriorRow = (r: PriorRow): Prior => ({
    study_uid: r.study_uid, date: dicomDate(r.study_date ?? ''), modality: r.modalities, description: r.description ?? '',
  })
  const ids = new Set(known.map((p) => p.study_uid))
  const ours = [...known, ...rows.filter((r) => r.in_archive && !ids.has(r.study_uid)).map(asPriorRow)]
  const county = rows.filter((r) => !r.in_archive && !ids.has(r.study_uid)).map(asPriorRow)
  return { ours, county, countyDown: !Array.isArray(answer) && answer.county_pacs === 'unavailable' }
}

interface StudyLink { study_uid: string; mismatches?: string[] }
interface ViewerContext { consultations: { id: string; question: string }[] }

/** The consultation the study is read for: the one in the address, else the first of the
 * study's context (consultations the caller takes part in), when the server has that route. */
export async function contextConsultation(study: string, wanted: string | null): Promise<string | null> {
  if (wanted) return wanted
  try {
    const ctx = await request<ViewerContext>(`/studies/${study}/context`)
    return ctx.consultations[0]?.id ?? null
  } catch {
    return null
  }
}

/** The server's demographic comparison of this study against the consultation's patient. */
export async function serverMismatches(consultation: string, study: string): Promise<string[] | null> {
  try {
    const links = await request<StudyLink[] | { items: StudyLink[] }>(`/consultations/${consultation}/studies`)
    const list = Array.isArray(links) ? links : links.items
    return list.find((l) => l.study_uid === study)?.mismatches ?? null
  } catch {
    return null
  }
}
