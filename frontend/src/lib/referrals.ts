/** Shapes and calls of the referrals and family-doctor APIs. */
import { api, type Page } from './api'
import { newKey } from './scheduling'

export interface Package {
  code: string
  name_zh: string
  name_en: string
  fee_yuan: number
  follow_up_interval_days: number | null
  eligibility: string | null
}

export interface Team {
  id: string
  institution_id: string
  name: string
  capacity: number
  contracted: number
}

export interface Contract {
  id: string
  patient_id: string
  team_id: string
  status: string
  term_start: string
  term_end: string
  signing_channel: string
  signed_at: string
  consent: Record<string, unknown>
  package_codes: string[]
  patient_name?: string | null
  patient_resident_id_masked?: string | null
}

export interface HomeVisit {
  id: string
  patient_id: string
  team_id: string
  reason: string
  preferred_date: string | null
  status: 'requested' | 'scheduled' | 'done' | 'cancelled'
  scheduled_at: string | null
  booking_id: string | null
}

/** The resident's home visits (all of theirs; a team member sees their team's). */
export function myHomeVisits(patientId: string): Promise<HomeVisit[]> {
  return api.get<HomeVisit[]>('/family-doctors/home-visits', { patient_id: patientId })
}

/** Ask the contracted team for a home visit (上门服务). */
export function requestHomeVisit(patientId: string, reason: string, preferredDate: string | null): Promise<HomeVisit> {
  return api.post<HomeVisit>('/family-doctors/home-visits', {
    patient_id: patientId,
    reason,
    preferred_date: preferredDate,
  })
}

export interface Referral {
  id: string
  patient_id: string
  from_institution_id: string
  to_institution_id: string
  direction: string
  urgency: string
  reason: string
  diagnosis_code: string
  diagnosis_text: string
  care_plan: string | null
  status: string
  allowed_actions: string[]
  contact_by: string | null
  contact_by_breached: boolean
  booking_id: string | null
  appointment_at: string | null
  outcome_summary: string | null
  patient_name?: string | null
  patient_resident_id_masked?: string | null
}

export interface ReferralEvent {
  action: string
  from_status: string | null
  to_status: string
  at: string
  reason: string | null
  data?: Record<string, unknown>
}

export interface Receiver {
  institution_id: string
  name_zh: string
  tier: string
  in_alliance: boolean
  routing_tier?: string | null
  distance_km?: number | null
  reason?: { code: string; params: Record<string, string | number | null> } | null
}

export interface Worklist {
  team_id: string
  overdue_follow_ups: Record<string, string>[]
  care_plans: Record<string, string>[]
  home_visits: Record<string, string>[]
  home_beds_due: Record<string, string>[]
  waiting_referrals: Record<string, string>[]
}

export const CONSENT_METHODS = ['written', 'electronic_signature', 'verbal_witnessed', 'fingerprint']
/** Actions that need a reason typed by the user. */
export const REASON_ACTIONS = ['reject', 'return', 'cancel']
/** Actions done with one click. */
export const SIMPLE_ACTIONS = ['submit', 'receive', 'accept', 'arrive', 'close']

export function packageName(p: Package, locale: string): string {
  return locale === 'en' ? p.name_en : p.name_zh
}

/** A referral list sorted so that the ones needing attention first: breached, then by contact date. */
export function byUrgency(rows: Referral[]): Referral[] {
  const key = (r: Referral) => (r.contact_by_breached ? '0' : '1') + (r.contact_by ?? '9999')
  return [...rows].sort((a, b) => key(a).localeCompare(key(b)))
}

export const referrals = {
  list: (query: Record<string, string> = {}) => api.get<Page<Referral>>('/referrals', { limit: '100', ...query }),
  events: (id: string) => api.get<ReferralEvent[]>(`/referrals/${id}/events`),
  create: (body: Record<string, unknown>, key: string) =>
    api.post<Referral>('/referrals', body, { headers: { 'Idempotency-Key': key } }),
  act: (id: string, action: string, body: Record<string, unknown> = {}) =>
    api.post<Referral>(`/referrals/${id}/${action}`, body),
  book: (id: string, slotId: string, key: string = newKey()) =>
    api.post<Referral>(`/referrals/${id}/book`, { slot_id: slotId }, { headers: { 'Idempotency-Key': key } }),
  receivers: (patientId: string, direction: string) =>
    api.get<Receiver[]>('/referrals/receivers', { patient_id: patientId, direction }),
}
