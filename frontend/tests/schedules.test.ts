import { describe, expect, it } from 'vitest'
import { hhmm, parseWeekdays, sortRules, type Rule } from '../src/lib/schedules'

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
