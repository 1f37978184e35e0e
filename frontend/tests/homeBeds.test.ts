import { describe, expect, it } from 'vitest'
import { bedsInOrder, scheduledAtFrom, servicesFrom, visitOverdue, visitsDueBy, vitalsFrom, type HomeBed, type HomeVisit } from '../src/lib/homeBeds'

function bed(id: string, status: string, next: string | null, discharged: string | null = null): HomeBed {
  return {
    id, patient_id: 'p', team_id: 't', status, diagnosis_code: 'I63.9', reason: '', visit_interval_days: 7,
    planned_services: [], admitted_at: '2026-11-01T00:00:00Z', discharged_at: discharged, discharge_summary: null,
    visits: [], home_visits: [], next_visit_due: next,
  }
}

describe('home sick bed order', () => {
  it('lists admitted beds by the next visit due, then discharged ones latest first', () => {
    const rows = [
      bed('old-out', 'discharged', null, '2026-11-10T00:00:00Z'),
      bed('later', 'admitted', '2026-12-08T00:00:00Z'),
      bed('new-out', 'discharged', null, '2026-11-20T00:00:00Z'),
      bed('sooner', 'admitted', '2026-12-01T00:00:00Z'),
    ]
    expect(bedsInOrder(rows).map((b) => b.id)).toEqual(['sooner', 'later', 'new-out', 'old-out'])
  })

  it('flags an admitted bed whose visit is past, never a discharged one', () => {
    const now = new Date('2026-12-02T00:00:00Z')
    expect(visitOverdue(bed('a', 'admitted', '2026-12-01T00:00:00Z'), now)).toBe(true)
    expect(visitOverdue(bed('b', 'admitted', '2026-12-03T00:00:00Z'), now)).toBe(false)
    expect(visitOverdue(bed('c', 'discharged', '2026-12-01T00:00:00Z'), now)).toBe(false)
  })
})

describe('home sick bed forms', () => {
  it('splits planned services on Chinese and Latin separators, without duplicates', () => {
    expect(servicesFrom('换药、康复指导，血压监测; 换药 ,')).toEqual(['换药', '康复指导', '血压监测'])
    expect(servicesFrom('  ')).toEqual([])
  })

  it('reads blood pressure and pulse, naming the field that is wrong', () => {
    expect(vitalsFrom({ bp: ' 138 / 86 ', pulse: '72', notes: '' })).toEqual({ vitals: { bp: '138/86', pulse: 72 }, errors: {} })
    expect(vitalsFrom({ bp: '138／86', pulse: '', notes: '' }).vitals).toEqual({ bp: '138/86' })
    expect(vitalsFrom({ bp: '', pulse: '', notes: 'x' })).toEqual({ vitals: {}, errors: {} })
    expect(vitalsFrom({ bp: '86/138', pulse: '', notes: '' }).errors).toEqual({ bp: 'homeBeds.bpInvalid' })
    expect(vitalsFrom({ bp: '138-86', pulse: '300', notes: '' }).errors).toEqual({ bp: 'homeBeds.bpInvalid', pulse: 'homeBeds.pulseInvalid' })
    expect(vitalsFrom({ bp: '', pulse: '7.5', notes: '' }).errors).toEqual({ pulse: 'homeBeds.pulseInvalid' })
  })

  it('takes the visit time as Beijing time', () => {
    expect(scheduledAtFrom('2026-12-01T09:30')).toBe('2026-12-01T01:30:00.000Z')
    expect(scheduledAtFrom('')).toBeNull()
  })
})

describe('visitsDueBy', () => {
  const visit = (id: string, status: string, at: string | null): HomeVisit => ({
    id, patient_id: 'p', team_id: 't', reason: 'r', preferred_date: null, status, scheduled_at: at, booking_id: null,
  })
  // 2026-12-01 23:30 Beijing time
  const now = new Date('2026-12-01T15:30:00Z')

  it("offers today's and late visits, never tomorrow's", () => {
    const rows = [
      visit('late', 'scheduled', '2026-11-30T01:00:00Z'),
      visit('today', 'scheduled', '2026-12-01T15:59:00Z'), // 23:59 Beijing
      visit('tomorrow', 'scheduled', '2026-12-01T16:00:00Z'), // 00:00 Beijing next day
      visit('done', 'done', '2026-12-01T01:00:00Z'),
      visit('asked', 'requested', null),
    ]
    expect(visitsDueBy(rows, now).map((v) => v.id)).toEqual(['late', 'today'])
  })
})
