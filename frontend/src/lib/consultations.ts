/** Shapes and helpers of the consultations API. */
import { api } from './api'

export const BASE = '/consultations'

export interface Consultation {
  id: string
  patient_id: string
  requesting_doctor_id: string
  requesting_institution_id: string
  service_class: string
  urgency: 'routine' | 'urgent' | 'emergency'
  live_session: boolean
  summary: string
  question: string
  wanted_specialty: string
  wanted_title: string | null
  proposed_specialist_id: string | null
  assigned_specialist_id: string | null
  receiving_institution_id: string | null
  override_reason?: string | null
  first_proposed_institution_id?: string | null
  state: string
  created_at: string
  submitted_at: string | null
  accept_due_at: string | null
  report_due_at: string | null
  fee_cents: number
  currency: string
  allowed_actions: string[]
  my_relations: string[]
  /** Filled by the list route: the request's linked studies and documents. */
  studies_count?: number | null
  documents_count?: number | null
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

export interface ServiceClassInfo {
  code: string
  name_zh: string
  name_en: string
  live_session: boolean
}

export interface Proposal {
  specialist_id: string
  specialist_name: string
  title: string | null
  institution_id: string
  institution_name: string
  tier: string
  same_alliance: boolean
  earliest_slot_id: string | null
  earliest_slot_at: string | null
  routing_tier: string
  routing_rank: number
  distance_km: number | null
  sla_share: number | null
  reason: { code: string; params: Record<string, string | number | null> }
}

export interface Transition {
  action: string
  from_state: string
  to_state: string
  by_id: string | null
  at: string
  reason: string
}

export interface Opinion {
  id: string
  version: number
  findings: string
  impression: string
  icd10: string[]
  recommendations: string
  /** an ECG reading's signed values (see lib/ecg.ts, `EcgMeasurements` plus `edited`) */
  ecg_measurements?: Record<string, unknown> | null
  signed_at: string | null
  key_id: string | null
}

export interface Verify {
  valid: boolean
  reason: string
  version: number
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
