import { describe, expect, it } from 'vitest'
import { formatMinutes, isoWeek, lastWeeks, weekMonday, weekRangeProblem } from '../src/lib/dashboard'

describe('ISO weeks of the utilization filters', () => {
  it('names the week of a day as ISO 8601 does, across year ends', () => {
    expect(isoWeek('2026-12-01')).toBe('2026-W49')
    expect(isoWeek('2026-11-30')).toBe('2026-W49') // Monday
    expect(isoWeek('2026-12-06')).toBe('2026-W49') // Sunday
    expect(isoWeek('2026-12-07')).toBe('2026-W50')
    expect(isoWeek('2027-01-01')).toBe('2026-W53') // Friday of 2026's week 53
    expect(isoWeek('2024-12-30')).toBe('2025-W01')
    expect(isoWeek('2021-01-03')).toBe('2020-W53')
  })

  it('finds the Monday of a week and refuses weeks that do not exist', () => {
    expect(weekMonday('2026-W49')).toBe('2026-11-30')
    expect(weekMonday('2025-W01')).toBe('2024-12-30')
    expect(weekMonday('2026-W53')).toBe('2026-12-28')
    expect(weekMonday('2025-W53')).toBeNull() // 2025 has 52 weeks
    expect(weekMonday('2026-W00')).toBeNull()
    expect(weekMonday('2026-49')).toBeNull()
  })

  it('takes the last weeks up to this one in Beijing time', () => {
    // 2026-11-29 17:00 UTC is Monday 2026-11-30 01:00 in Shanghai
    expect(lastWeeks(4, new Date(Date.UTC(2026, 10, 29, 17, 0)))).toEqual({ from: '2026-W46', to: '2026-W49' })
    expect(lastWeeks(1, new Date(Date.UTC(2026, 10, 29, 15, 0)))).toEqual({ from: '2026-W48', to: '2026-W48' })
  })

  it('says what is wrong with a range before asking the server', () => {
    expect(weekRangeProblem('', '2026-W49')).toBe('required')
    expect(weekRangeProblem('2026-49', '2026-W49')).toBe('format')
    expect(weekRangeProblem('2026-W49', '2026-W48')).toBe('order')
    expect(weekRangeProblem('2025-W01', '2026-W02')).toBe('tooLong')
    expect(weekRangeProblem('2025-W02', '2026-W02')).toBe('')
  })

  it('shows median minutes in minutes, then hours', () => {
    const units = { min: '分钟', h: '小时' }
    expect(formatMinutes(null, units)).toBe('—')
    expect(formatMinutes(42.4, units)).toBe('42 分钟')
    expect(formatMinutes(90, units)).toBe('1.5 小时')
    expect(formatMinutes(120, units)).toBe('2 小时')
  })
})
