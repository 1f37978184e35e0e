import { describe, expect, it } from 'vitest'
import { countdown, feeYuan, groupSlots, type SlotView } from '../src/lib/scheduling'

const slot = (id: string, specialist: string | null, start: string, over: Partial<SlotView> = {}): SlotView => ({
  id,
  institution_id: 'inst-1',
  institution_name: '旗人民医院',
  specialist_id: specialist,
  specialist_name: specialist ? `医生${specialist}` : null,
  specialty_code: 'cardiology',
  title: 'chief_physician',
  service_class: 'outpatient',
  start_at: start,
  end_at: start,
  remaining: 1,
  ...over,
})

describe('groupSlots', () => {
  it('groups by doctor and Beijing day, in the order of each group’s first slot', () => {
    const groups = groupSlots([
      slot('a1', 'A', '2026-12-04T00:00:00Z'),
      slot('b1', 'B', '2026-12-04T00:30:00Z'),
      slot('a2', 'A', '2026-12-04T01:00:00Z'),
      // 2026-12-04 17:00 UTC is already 12-05 in Beijing: another day of A
      slot('a3', 'A', '2026-12-04T17:00:00Z'),
    ])
    expect(groups.map((g) => [g.day, g.slots.map((s) => s.id)])).toEqual([
      ['2026-12-04', ['a1', 'a2']],
      ['2026-12-04', ['b1']],
      ['2026-12-05', ['a3']],
    ])
    expect(groups[0].first.specialist_name).toBe('医生A')
  })

  it('keeps a doctor’s services apart and groups resources without a doctor by name', () => {
    const groups = groupSlots([
      slot('o', 'A', '2026-12-04T00:00:00Z'),
      slot('h', 'A', '2026-12-04T00:30:00Z', { service_class: 'home_visit' }),
      slot('r1', null, '2026-12-04T01:00:00Z'),
      slot('r2', null, '2026-12-04T02:00:00Z'),
    ])
    expect(groups.map((g) => g.slots.map((s) => s.id))).toEqual([['o'], ['h'], ['r1', 'r2']])
  })
})

describe('fees and the hold countdown', () => {
  it('shows yuan, and nothing without a fee', () => {
    expect(feeYuan(3000)).toBe('30')
    expect(feeYuan(1250)).toBe('12.50')
    expect(feeYuan(0)).toBe('0')
    expect(feeYuan(null)).toBe('')
  })

  it('counts down to the hold’s expiry, never below zero', () => {
    const now = Date.parse('2026-12-03T10:00:00Z')
    expect(countdown('2026-12-03T10:04:05Z', now)).toEqual({ seconds: 245, text: '4:05' })
    expect(countdown('2026-12-03T09:59:00Z', now)).toEqual({ seconds: 0, text: '0:00' })
  })
})
