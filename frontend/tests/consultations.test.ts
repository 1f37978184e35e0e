import { describe, expect, it } from 'vitest'
import { byUrgencyAndDue, dueOf, parseIcd10, type Consultation } from '../src/lib/consultations'

function c(over: Partial<Consultation>): Consultation {
  return {
    id: 'x', patient_id: 'p', requesting_doctor_id: 'd', requesting_institution_id: 'i',
    service_class: 'consultation', urgency: 'routine', live_session: true, summary: '', question: '',
    wanted_specialty: 'radiology', wanted_title: null, proposed_specialist_id: null,
    assigned_specialist_id: null, receiving_institution_id: null, state: 'submitted',
    created_at: '2026-12-01T00:00:00Z', submitted_at: null, accept_due_at: null, report_due_at: null,
    fee_cents: 0, currency: 'CNY', allowed_actions: [], my_relations: [], ...over,
  } as Consultation
}

describe('worklist order', () => {
  it('puts emergencies first, then the nearest deadline', () => {
    const rows = [
      c({ id: 'routine-soon', accept_due_at: '2026-12-01T02:00:00Z' }),
      c({ id: 'urgent-late', urgency: 'urgent', accept_due_at: '2026-12-02T00:00:00Z' }),
      c({ id: 'urgent-soon', urgency: 'urgent', accept_due_at: '2026-12-01T01:00:00Z' }),
      c({ id: 'emergency', urgency: 'emergency', accept_due_at: '2026-12-03T00:00:00Z' }),
    ]
    expect(rows.sort(byUrgencyAndDue).map((r) => r.id)).toEqual(['emergency', 'urgent-soon', 'urgent-late', 'routine-soon'])
  })

  it('uses the accept deadline while waiting and the report deadline after', () => {
    expect(dueOf(c({ state: 'submitted', accept_due_at: 'A', report_due_at: 'R' }))).toBe('A')
    expect(dueOf(c({ state: 'accepted', accept_due_at: 'A', report_due_at: 'R' }))).toBe('R')
    expect(dueOf(c({ state: 'closed', accept_due_at: 'A', report_due_at: 'R' }))).toBeNull()
  })
})

describe('ICD-10 input', () => {
  it('splits on commas (also full-width) and upper-cases', () => {
    expect(parseIcd10('r91, J18.9，i21.0')).toEqual({ codes: ['R91', 'J18.9', 'I21.0'], bad: [] })
  })
  it('names codes that are not ICD-10', () => {
    expect(parseIcd10('R91, 123, U07').bad).toEqual(['123', 'U07'])
  })
})
