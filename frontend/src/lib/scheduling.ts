/** Shapes and calls of the scheduling API (slots, holds, bookings). */
import { client, ok, type Schemas } from './api'
import { download } from './download'
import { formatDate, shanghaiToUtc } from './time'

export type SlotView = Schemas['SlotView']

export type Booking = Schemas['BookingPublic']

/** A booking as `GET /bookings` lists it: with its doctor, specialty, hospital and fee. */
export interface BookingListItem extends Booking {
  specialist_name: string | null
  specialist_title: string | null
  specialty_code: string
  institution_name: string
  fee_cents: number | null
  currency: string | null
}

/** Slots of one doctor (or resource) on one Beijing day, earliest first. */
export interface SlotGroup {
  key: string
  day: string
  first: SlotView
  slots: SlotView[]
}

/** Group search results by doctor and Beijing day, keeping the earliest-first order of
 * each group's first slot (a doctor's later day is its own group, further down). */
export function groupSlots(slots: SlotView[]): SlotGroup[] {
  const groups = new Map<string, SlotGroup>()
  for (const s of slots) {
    const day = formatDate(s.start_at)
    const who = s.specialist_id ?? `${s.institution_id}:${s.specialty_code}:${s.specialist_name ?? ''}`
    const key = `${who}|${s.service_class}|${day}`
    const g = groups.get(key)
    if (g) g.slots.push(s)
    else groups.set(key, { key, day, first: s, slots: [s] })
  }
  return [...groups.values()]
}

/** A fee in yuan for display ("30" or "12.50"); '' when no fee is set. */
export function feeYuan(cents: number | null | undefined): string {
  if (cents === null || cents === undefined) return ''
  return cents % 100 === 0 ? String(cents / 100) : (cents / 100).toFixed(2)
}

/** Whole seconds left until `expires` (never negative), as m:ss. */
export function countdown(expires: string | null | undefined, now: number): { seconds: number; text: string } {
  if (!expires) return { seconds: 0, text: '0:00' }
  const seconds = Math.max(0, Math.floor((new Date(expires).getTime() - now) / 1000))
  return { seconds, text: `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}` }
}

export const PATIENT_SERVICE_CLASSES = ['outpatient', 'home_visit', 'training']
export const ACTIVE = ['pending', 'booked', 'proposed', 'waitlist']

/** A fresh idempotency key (one per user intent; reused when that intent is retried). */
export function newKey(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`
}

export function hold(slotId: string, key: string, patientId?: string | null): Promise<Booking> {
  return ok(
    client.POST('/api/v1/slots/{slot_id}/hold', {
      params: { path: { slot_id: slotId }, header: { 'Idempotency-Key': key } },
      body: patientId ? { patient_id: patientId } : {},
    }),
  )
}

export function confirm(holdId: string, key: string): Promise<Booking> {
  return ok(client.POST('/api/v1/bookings', { params: { header: { 'Idempotency-Key': key } }, body: { hold_id: holdId } }))
}

export function cancel(id: string, reason: string): Promise<Booking> {
  return ok(client.POST('/api/v1/bookings/{booking_id}/cancel', { params: { path: { booking_id: id } }, body: { reason } }))
}

export function reschedule(id: string, slotId: string, key: string): Promise<Booking> {
  return ok(
    client.POST('/api/v1/bookings/{booking_id}/reschedule', {
      params: { path: { booking_id: id }, header: { 'Idempotency-Key': key } },
      body: { slot_id: slotId },
    }),
  )
}

/** Download the booking's .ics with the bearer token (a plain link could not send it). */
export function downloadIcs(id: string): Promise<void> {
  return download(`/bookings/${id}.ics`, `booking-${id}.ics`, 'text/calendar')
}

// ------------------------------------------------------------------ waitlist (候补)

export type WaitlistStatus = 'waiting' | 'offered' | 'done' | 'lapsed' | 'cancelled'
export const WAITLIST_STATUSES: WaitlistStatus[] = ['waiting', 'offered', 'done', 'lapsed', 'cancelled']

export type WaitlistEntry = Schemas['WaitlistPublic']

export type WaitlistCreate = Schemas['WaitlistCreate']

/** What the user asked for: the search's filters and a range of Shanghai dates (both included). */
export interface WaitlistForm {
  specialty_code: string
  service_class: string
  institution_id: string
  patient_id?: string | null
  from: string
  to: string
}

export type WaitlistAction = 'leave' | 'confirm' | 'decline'

/** The buttons an entry offers: leave while waiting; confirm or decline a held place. */
export function waitlistActions(entry: Pick<WaitlistEntry, 'status' | 'offered_booking_id'>): WaitlistAction[] {
  if (entry.status === 'waiting') return ['leave']
  if (entry.status === 'offered') return entry.offered_booking_id ? ['confirm', 'decline'] : ['decline']
  return []
}

/** The catalogue key of a status's label (unknown statuses fall back to the raw value). */
export function waitlistStatusKey(status: string): string {
  return (WAITLIST_STATUSES as string[]).includes(status) ? `waitlistStatus.${status}` : ''
}

/** The first and last Shanghai date of a stored range (its end is exclusive: next midnight). */
export function waitlistDates(entry: Pick<WaitlistEntry, 'start_at' | 'end_at'>): { from: string; to: string } {
  const end = new Date(new Date(entry.end_at).getTime() - 1)
  return { from: formatDate(entry.start_at), to: formatDate(end) }
}

/** Add whole days to a Shanghai date ("2026-12-01" + 1 -> "2026-12-02"). */
export function addDays(date: string, days: number): string {
  return formatDate(new Date(shanghaiToUtc(date).getTime() + days * 86_400_000))
}

/** Browser checks before a request: field -> catalogue key. */
export function checkWaitlistForm(f: WaitlistForm, today: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (!f.specialty_code) out.specialty_code = 'waitlist.pickSpecialty'
  if (!f.from) out.start_at = 'waitlist.dateRequired'
  if (!f.to) out.end_at = 'waitlist.dateRequired'
  else if (f.to < today) out.end_at = 'waitlist.inPast'
  else if (f.from && f.to < f.from) out.end_at = 'waitlist.endBeforeStart'
  return out
}

/** The API body: from the first day's midnight to the midnight after the last day (UTC). */
export function waitlistBody(f: WaitlistForm): WaitlistCreate {
  const body: WaitlistCreate = {
    specialty_code: f.specialty_code,
    start_at: shanghaiToUtc(f.from).toISOString(),
    end_at: shanghaiToUtc(addDays(f.to, 1)).toISOString(),
  }
  if (f.service_class) body.service_class = f.service_class as WaitlistCreate['service_class']
  if (f.institution_id) body.institution_id = f.institution_id
  if (f.patient_id) body.patient_id = f.patient_id
  return body
}

export function joinWaitlist(body: WaitlistCreate): Promise<WaitlistEntry> {
  return ok(client.POST('/api/v1/waitlist', { body }))
}

export function myWaitlist(limit = 50, offset = 0): Promise<WaitlistEntry[]> {
  return ok(client.GET('/api/v1/waitlist', { params: { query: { limit, offset } } }))
}

export function leaveWaitlist(id: string): Promise<WaitlistEntry> {
  return ok(client.POST('/api/v1/waitlist/{entry_id}/cancel', { params: { path: { entry_id: id } } }))
}

export function getBooking(id: string): Promise<Booking> {
  return ok(client.GET('/api/v1/bookings/{booking_id}', { params: { path: { booking_id: id } } }))
}
