import { describe, expect, it } from 'vitest'
import { checkRuleForm, emptyRuleForm, hhmm, parseWeekdays, ruleBody, sortRules, type Rule } from '../src/lib/schedules'

describe('schedule rules', () => {
  it('parse weekdays, dropping junk and sorting', () => {
    expect(parseWeekdays('4,0, 2')).toEqual([0, 2, 4])
    expect(parseWeekdays('1,9,x,')).toEqual([1])
  })
  it('show local times without seconds', () => {
    expect(hhmm('08:30:00')).toBe('08:30')
  })
  it('keep a specialist’s rules together, mornings first', () => {
    const r = (id: string, sp: string, start: string) => ({ id, specialist_id: sp, resource_name: null, start_time: start, weekdays: '0' }) as Rule
    expect(sortRules([r('b2', 'b', '14:00'), r('a1', 'a', '14:00'), r('b1', 'b', '08:00')]).map((x) => x.id)).toEqual(['a1', 'b1', 'b2'])
  })
})

describe('new weekly rule form', () => {
  it('names every field the browser can check, with catalogue keys', () => {
    const f = { ...emptyRuleForm(), start_time: '12:00', end_time: '11:00', slot_minutes: 2, capacity: 0, reserved_pct: 120, release_hours_before: -1 }
    expect(checkRuleForm(f)).toEqual({
      specialist_id: 'schedules.pickSpecialist',
      weekdays: 'schedules.pickWeekday',
      end_time: 'schedules.endAfterStart',
      slot_minutes: 'schedules.slotRange',
      capacity: 'schedules.capacityRange',
      reserved_share: 'schedules.percentRange',
      release_hours_before: 'schedules.hoursRange',
    })
  })
  it('builds the API body: weekdays sorted once, per cent as a share, no empty valid_from', () => {
    const f = { ...emptyRuleForm(), specialist_id: 's1', weekdays: [5, 1, 5], reserved_pct: 25, service_class: 'mdt' }
    expect(checkRuleForm(f)).toEqual({})
    expect(ruleBody(f)).toEqual({
      specialist_id: 's1',
      service_class: 'mdt',
      weekdays: [1, 5],
      start_time: '08:30',
      end_time: '11:30',
      slot_minutes: 30,
      capacity: 1,
      reserved_share: 0.25,
      release_hours_before: 48,
    })
    expect(ruleBody({ ...f, valid_from: '2026-12-01' }).valid_from).toBe('2026-12-01')
  })
})
