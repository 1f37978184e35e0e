/** Shapes and calls of the referrals and family-doctor APIs. */
import { api, client, ok, type Page, type Schemas } from './api'
import { newKey } from './scheduling'

export type Package = Schemas['PackagePublic']

/** A package as offered to one resident (`GET /family-doctors/patients/{id}/packages`): the
 * server's signing rule says whether they may sign it today, and why not. */
export interface PackageOffer extends Package {
  eligible: boolean
  ineligible_reason: 'under_65' | 'over_6' | 'not_female' | 'not_eligible' | null
}

/** The packages a resident may choose besides the basic one (always included). */
export function choosablePackages(offers: PackageOffer[]): PackageOffer[] {
  return offers.filter((p) => p.eligible && p.code !== 'basic')
}

export type Team = Schemas['TeamPublic']

export type Contract = Schemas['ContractPublic']

export type HomeVisit = Schemas['HomeVisitPublic']

/** The resident's home visits (all of theirs; a team member sees their team's). */
export function myHomeVisits(patientId: string): Promise<HomeVisit[]> {
  return ok(client.GET('/api/v1/family-doctors/home-visits', { params: { query: { patient_id: patientId } } }))
}

/** Ask the contracted team for a home visit (上门服务). */
export function requestHomeVisit(patientId: string, reason: string, preferredDate: string | null): Promise<HomeVisit> {
  return ok(
    client.POST('/api/v1/family-doctors/home-visits', {
      body: { patient_id: patientId, reason, preferred_date: preferredDate },
    }),
  )
}

export type Referral = Schemas['ReferralPublic']

export type ReferralEvent = Schemas['ReferralEventPublic']

export type Receiver = Schemas['ReceiverProposal']

/** The team's worklist: the server's `TeamWorklist`, whose lists are rows of text (`dict`s). */
export type Worklist = { [K in keyof Schemas['TeamWorklist']]: K extends 'team_id' ? string : Record<string, string>[] }

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
  events: (id: string): Promise<ReferralEvent[]> =>
    ok(client.GET('/api/v1/referrals/{referral_id}/events', { params: { path: { referral_id: id } } })),
  create: (body: Record<string, unknown>, key: string) =>
    api.post<Referral>('/referrals', body, { headers: { 'Idempotency-Key': key } }),
  act: (id: string, action: string, body: Record<string, unknown> = {}) =>
    api.post<Referral>(`/referrals/${id}/${action}`, body),
  book: (id: string, slotId: string, key: string = newKey()) =>
    ok(
      client.POST('/api/v1/referrals/{referral_id}/book', {
        params: { path: { referral_id: id }, header: { 'Idempotency-Key': key } },
        body: { slot_id: slotId },
      }),
    ),
  /** The referrer resubmits a rejected cross-region filing or revokes an accepted one. */
  filing: (id: string, action: 'resubmit' | 'revoke', memo = '') =>
    ok(
      client.POST('/api/v1/referrals/{referral_id}/filing/{action}', {
        params: { path: { referral_id: id, action } },
        body: { memo },
      }),
    ),
  receivers: (patientId: string, direction: string) =>
    ok(
      client.GET('/api/v1/referrals/receivers', {
        params: { query: { patient_id: patientId, direction: direction as Schemas['ReferralCreate']['direction'] } },
      }),
    ),
}
