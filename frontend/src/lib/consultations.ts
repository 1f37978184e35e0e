/** Shapes and helpers of the consultations API. */
import { api, type Schemas } from './api'

export const BASE = '/consultations'

export type Consultation = Schemas['ConsultationPublic']
export type ServiceClassInfo = Schemas['ServiceClassPublic']
export type Proposal = Schemas['Proposal']
export type Transition = Schemas['TransitionPublic']
/** an ECG reading's signed values are `ecg_measurements` (see lib/ecg.ts, `EcgMeasurements` plus `edited`) */
export type Opinion = Schemas['OpinionPublic']
export type Verify = Schemas['VerifyResult']

export interface OpinionSigner {
  id: string
  full_name: string
  title: string | null
  institution_id: string | null
  institution_name: string | null
  institution_name_en?: string | null
}

/** A question cut to `max` characters (an ellipsis marks the cut) for a worklist cell. */
export function shortQuestion(text: string, max = 40): string {
  const chars = [...text.trim()]
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('')}…`
}

/** Whole years of age on `at` (both YYYY-MM-DD…), or null without a birth date. */
export function ageOn(birthDate: string | undefined | null, at: string): number | null {
  if (!birthDate) return null
  const [by, bm, bd] = birthDate.slice(0, 10).split('-').map(Number)
  const [ay, am, ad] = at.slice(0, 10).split('-').map(Number)
  if (!by || !ay) return null
  return ay - by - (am < bm || (am === bm && ad < bd) ? 1 : 0)
}

export interface Diagnosis {
  code: string
  name_zh: string
  name_en: string
}

/** "R91 肺诊断性影像异常": the code and its name in the page's language (else the other). */
export function diagnosisLabel(d: Diagnosis, zh: boolean): string {
  const name = zh ? d.name_zh || d.name_en : d.name_en || d.name_zh
  return name ? `${d.code} ${name}` : d.code
}

/** Which opinion the page may ask for: the author's draft while they may still write,
 * the signed one once the request is reported (never a request that would answer 404). */
export function opinionToLoad(c: Pick<Consultation, 'state' | 'allowed_actions'> & { reported_at?: string | null }): 'draft' | 'signed' | null {
  if (c.reported_at || c.state === 'reported' || c.state === 'closed') return 'signed'
  if (c.allowed_actions.includes('report')) return 'draft'
  return null
}


const URGENCY_RANK: Record<string, number> = { emergency: 0, urgent: 1, routine: 2 }

/** The deadline that matters now: acceptance while waiting, the report after that. */
export function dueOf(c: Consultation): string | null {
  if (c.state === 'submitted' || c.state === 'redirected') return c.accept_due_at
  if (['accepted', 'scheduled', 'in_session'].includes(c.state)) return c.report_due_at
  return null
}

/** Worklist order: most urgent first, then the nearest deadline, then the oldest. */
export function byUrgencyAndDue(a: Consultation, b: Consultation): number {
  const u = (URGENCY_RANK[a.urgency] ?? 9) - (URGENCY_RANK[b.urgency] ?? 9)
  if (u) return u
  const da = dueOf(a) ?? '9999'
  const db = dueOf(b) ?? '9999'
  if (da !== db) return da < db ? -1 : 1
  return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0
}

const ICD10 = /^[A-TV-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?$/

/** Split "R91, j18.9" into codes; `bad` lists those that are not ICD-10 codes. */
export function parseIcd10(text: string): { codes: string[]; bad: string[] } {
  const codes = text
    .split(/[,，;；\s]+/)
    .map((c) => c.trim().toUpperCase())
    .filter(Boolean)
  return { codes, bad: codes.filter((c) => !ICD10.test(c)) }
}

export function act(id: string, action: string, body: unknown = {}): Promise<Consultation> {
  return api.post<Consultation>(`${BASE}/${id}/${action}`, body)
}
