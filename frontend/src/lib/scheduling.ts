/** Shapes and calls of the scheduling API (slots, holds, bookings). */
import { api, request } from './api'

export interface SlotView {
  id: string
  institution_id: string
  institution_name: string
  specialist_id: string | null
  specialist_name: string | null
  specialty_code: string
  title: string | null
  service_class: string
  start_at: string
  end_at: string
  remaining: number
  league_code?: string | null
}

export interface Booking {
  id: string
  slot_id: string
  patient_id: string | null
  status: string
  start_at: string
  end_at: string
  institution_id: string
  specialist_id: string | null
  service_class: string
  hold_expires_at: string | null
  needs_reschedule: boolean
  status_reason: string
}

export const PATIENT_SERVICE_CLASSES = ['outpatient', 'home_visit', 'training']
export const ACTIVE = ['pending', 'booked', 'proposed', 'waitlist']

/** A fresh idempotency key (one per user intent; reused when that intent is retried). */
export function newKey(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`
}

export function hold(slotId: string, key: string, patientId?: string | null): Promise<Booking> {
  return api.post<Booking>(`/slots/${slotId}/hold`, patientId ? { patient_id: patientId } : {}, {
    headers: { 'Idempotency-Key': key },
  })
}

export function confirm(holdId: string, key: string): Promise<Booking> {
  return api.post<Booking>('/bookings', { hold_id: holdId }, { headers: { 'Idempotency-Key': key } })
}

export function cancel(id: string, reason: string): Promise<Booking> {
  return api.post<Booking>(`/bookings/${id}/cancel`, { reason })
}

export function reschedule(id: string, slotId: string, key: string): Promise<Booking> {
  return api.post<Booking>(`/bookings/${id}/reschedule`, { slot_id: slotId }, { headers: { 'Idempotency-Key': key } })
}

/** Download the booking's .ics with the bearer token (a plain link could not send it). */
export async function downloadIcs(id: string): Promise<void> {
  const text = await request<string>(`/bookings/${id}.ics`, { headers: { Accept: 'text/calendar' } })
  const url = URL.createObjectURL(new Blob([text], { type: 'text/calendar' }))
  const a = document.createElement('a')
  a.href = url
  a.download = `booking-${id}.ics`
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
