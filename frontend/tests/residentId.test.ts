import { describe, expect, it } from 'vitest'
import { checkDigit, parseResidentId } from '../src/lib/residentId'

function make(first17: string): string {
  return first17 + checkDigit(first17)
}

describe('resident ID (GB 11643-1999)', () => {
  it('computes the MOD 11-2 check character of known numbers', () => {
    // The standard's worked example and a well-known sample number.
    expect(checkDigit('11010519491231002')).toBe('X')
    expect(checkDigit('44052418800101001')).toBe('4')
  })

  it('accepts a valid number and reads birth date and sex', () => {
    const r = parseResidentId('11010519491231002x')
    expect(r.ok).toBe(true)
    if (r.ok) {
      expect(r.value.number).toBe('11010519491231002X')
      expect(r.value.birthDate).toBe('1949-12-31')
      expect(r.value.sex).toBe('female')
      expect(r.value.regionCode).toBe('110105')
    }
    const m = parseResidentId(make('15010219800101001'))
    expect(m.ok && m.value.sex).toBe('male')
  })

  it('refuses a wrong length', () => {
    expect(parseResidentId('1234')).toEqual({ ok: false, problem: { code: 'length', length: 4 } })
  })

  it('refuses letters other than a final X', () => {
    expect(parseResidentId('1501021980010100AX')).toEqual({ ok: false, problem: { code: 'format' } })
  })

  it('refuses impossible birth dates', () => {
    const r = parseResidentId(make('15010219800230001'))
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.problem.code).toBe('birth_date')
    const future = parseResidentId(make('15010221000101001'), new Date('2026-12-01'))
    expect(!future.ok && future.problem.code).toBe('birth_date')
  })

  it('names the expected check character of a mistyped number', () => {
    const good = make('15010219800101001')
    const wrong = good.slice(0, 17) + (good[17] === '0' ? '1' : '0')
    const r = parseResidentId(wrong)
    expect(r).toEqual({ ok: false, problem: { code: 'check_digit', got: wrong[17], expected: good[17] } })
  })
})
