/** Home sick beds (家庭病床) and home visits (上门服务) of a family-doctor team: shapes, calls and the form rules. */
import { api, client, ok, type Schemas } from './api'
import { shanghaiToday, shanghaiToUtc } from './time'

export type HomeVisit = Schemas['HomeVisitPublic']

/** A recorded visit of a bed (its table's columns; the server's schema says `dict`). */
export interface BedVisit {
  id: string
  visited_at: string
  notes: string
  vitals: Record<string, string | number>
}

/** A home visit as a bed lists it: the request's columns, `done_at` once recorded (a `dict`
 * in the server's schema). */
export type BedHomeVisit = HomeVisit & { done_at: string | null }

/** The server's `HomeBedPublic`, its `dict` lists typed as their rows. */
export type HomeBed = Omit<Schemas['HomeBedPublic'], 'visits' | 'home_visits'> & {
  visits: BedVisit[]
  home_visits: BedHomeVisit[]
}
const asBed = (b: Schemas['HomeBedPublic']): HomeBed => b as unknown as HomeBed

const BASE = '/family-doctors'
export const homeBeds = {
  list: (teamId: string, status = '') =>
    api.get<HomeBed[]>(`${BASE}/home-beds`, status ? { team_id: teamId, status } : { team_id: teamId }),
  get: (id: string) =>
    ok(client.GET('/api/v1/family-doctors/home-beds/{bed_id}', { params: { path: { bed_id: id } } })).then(asBed),
  admit: (body: Record<string, unknown>) => api.post<HomeBed>(`${BASE}/home-beds`, body),
  visit: (id: string, body: Record<string, unknown>) => api.post<HomeBed>(`${BASE}/home-beds/${id}/visits`, body),
  discharge: (id: string, summary: string) =>
    ok(
      client.POST('/api/v1/family-doctors/home-beds/{bed_id}/discharge', { params: { path: { bed_id: id } }, body: { summary } }),
    ).then(asBed),
  requestVisit: (patientId: string, reason: string) =>
    ok(client.POST('/api/v1/family-doctors/home-visits', { body: { patient_id: patientId, reason } })),
  scheduleVisit: (id: string, scheduledAt: string) =>
    ok(
      client.POST('/api/v1/family-doctors/home-visits/{visit_id}/schedule', {
        params: { path: { visit_id: id } },
        body: { scheduled_at: scheduledAt },
      }),
    ),
  cancelVisit: (id: string) =>
    ok(
      client.POST('/api/v1/family-doctors/home-visits/{visit_id}/{outcome}', {
        params: { path: { visit_id: id, outcome: 'cancel' } },
      }),
    ),
}

/** Admitted beds first, the most pressing next visit first; then discharged ones, latest first. */
export function bedsInOrder(beds: HomeBed[]): HomeBed[] {
  const key = (b: HomeBed) =>
    b.status === 'admitted' ? `0${b.next_visit_due ?? '9999'}` : `1${invert(b.discharged_at ?? b.admitted_at)}`
  return [...beds].sort((a, b) => key(a).localeCompare(key(b)))
}

function invert(iso: string): string {
  // later dates sort first: complement each digit
  return iso.replace(/\d/g, (d) => String(9 - Number(d)))
}

/** An admitted bed whose next planned visit is past. */
export function visitOverdue(bed: HomeBed, now: Date = new Date()): boolean {
  return bed.status === 'admitted' && !!bed.next_visit_due && new Date(bed.next_visit_due) < now
}

/** Planned services typed as one line: split on Chinese or Latin commas, 、 and semicolons. */
export function servicesFrom(text: string): string[] {
  const out: string[] = []
  for (const part of text.split(/[,，、;；\n]/)) {
    const s = part.trim()
    if (s && !out.includes(s)) out.push(s)
  }
  return out
}

export interface VisitForm {
  bp: string
  pulse: string
  notes: string
}

/**
 * Vital signs of a bed visit. Blood pressure "systolic/diastolic" in mmHg (systolic 60–280
 * above diastolic 30–180), pulse 20–250 per minute; both optional. Field errors are message
 * keys, keyed by the form field.
 */
export function vitalsFrom(form: VisitForm): { vitals: Record<string, string | number>; errors: Record<string, string> } {
  const vitals: Record<string, string | number> = {}
  const errors: Record<string, string> = {}
  const bp = form.bp.trim().replace('／', '/')
  if (bp) {
    const m = bp.match(/^(\d{2,3})\s*\/\s*(\d{2,3})$/)
    const sys = m ? Number(m[1]) : 0
    const dia = m ? Number(m[2]) : 0
    if (!m || sys < 60 || sys > 280 || dia < 30 || dia > 180 || sys <= dia) errors.bp = 'homeBeds.bpInvalid'
    else vitals.bp = `${sys}/${dia}`
  }
  const pulse = form.pulse.trim()
  if (pulse) {
    const n = Number(pulse)
    if (!/^\d{2,3}$/.test(pulse) || n < 20 || n > 250) errors.pulse = 'homeBeds.pulseInvalid'
    else vitals.pulse = n
  }
  return { vitals, errors }
}

/** A date and time typed in Asia/Shanghai (the `datetime-local` value) as UTC ISO; null when empty or malformed. */
export function scheduledAtFrom(local: string): string | null {
  const m = local.match(/^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/)
  if (!m) return null
  return shanghaiToUtc(m[1], m[2]).toISOString()
}

/**
 * The scheduled home visits a bed visit recorded at `now` may carry out: those of the same
 * Beijing day or earlier (late ones), never one of a later day (the server refuses those,
 * 409 `home_visit_not_due`).
 */
export function visitsDueBy(visits: HomeVisit[], now: Date = new Date()): HomeVisit[] {
  const today = shanghaiToday(now)
  return visits.filter((v) => v.status === 'scheduled' && (!v.scheduled_at || shanghaiToday(new Date(v.scheduled_at)) <= today))
}
