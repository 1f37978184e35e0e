import { describe, expect, it } from 'vitest'
import { formatDate, formatDateTime, formatTime, shanghaiToday, shanghaiToUtc } from '../src/lib/time'

describe('times are shown in Asia/Shanghai', () => {
  it('adds eight hours to UTC', () => {
    expect(formatDateTime('2026-12-01T01:00:00Z')).toBe('2026-12-01 09:00')
    expect(formatTime('2026-12-01T01:30:00+00:00')).toBe('09:30')
  })

  it('crosses midnight into the next Shanghai day', () => {
    expect(formatDateTime('2026-12-31T16:30:00Z')).toBe('2027-01-01 00:30')
    expect(formatDate('2026-12-31T16:30:00Z')).toBe('2027-01-01')
  })

  it('does not depend on the browser zone (no DST in summer)', () => {
    expect(formatDateTime('2026-07-01T12:00:00Z', { seconds: true })).toBe('2026-07-01 20:00:00')
  })

  it('reads offsets other than UTC', () => {
    expect(formatDateTime('2026-12-01T09:00:00+08:00')).toBe('2026-12-01 09:00')
  })

  it('gives an empty string for missing or invalid input', () => {
    expect(formatDateTime(null)).toBe('')
    expect(formatDateTime(undefined)).toBe('')
    expect(formatDateTime('not a date')).toBe('')
  })

  it('converts Shanghai wall-clock time back to UTC', () => {
    expect(shanghaiToUtc('2026-12-01', '09:00').toISOString()).toBe('2026-12-01T01:00:00.000Z')
    expect(shanghaiToUtc('2026-12-01').toISOString()).toBe('2026-11-30T16:00:00.000Z')
  })

  it('knows today in Shanghai', () => {
    expect(shanghaiToday(new Date('2026-12-01T17:00:00Z'))).toBe('2026-12-02')
  })
})
