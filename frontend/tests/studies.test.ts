import { describe, expect, it } from 'vitest'
import { studiesForPatient, type StudySummary } from '../src/lib/studies'

const s = (uid: string, patient: string | null, date: string | null, created = '2026-11-01T00:00:00Z') =>
  ({ study_uid: uid, patient_id: patient, study_date: date, created_at: created }) as StudySummary

describe('studies offered for a patient', () => {
  it('the patient’s own first, then unmatched ones; never another patient’s', () => {
    const matched = [s('a', 'p1', '2026-10-01')]
    const all = [s('a', 'p1', '2026-10-01'), s('b', 'p2', '2026-11-01'), s('c', null, '2026-09-01'), s('d', null, '2026-11-02'), s('e', 'p1', '2026-11-03')]
    const out = studiesForPatient(matched, all, 'p1')
    expect(out.matched.map((x) => x.study_uid)).toEqual(['e', 'a'])
    expect(out.unmatched.map((x) => x.study_uid)).toEqual(['d', 'c'])
  })
  it('orders studies without a date last, then by arrival', () => {
    const all = [s('x', null, null, '2026-11-02T00:00:00Z'), s('y', null, null, '2026-11-03T00:00:00Z'), s('z', null, '2026-01-01')]
    expect(studiesForPatient([], all, 'p1').unmatched.map((x) => x.study_uid)).toEqual(['z', 'y', 'x'])
  })
})
