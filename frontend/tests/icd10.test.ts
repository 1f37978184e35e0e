import { afterEach, describe, expect, it, vi } from 'vitest'
import { applyPick, codeName, currentTerm, debounce, highlight, onKey, searchable, type Icd10Code } from '../src/lib/icd10'

const I10: Icd10Code = {
  code: 'I10', name_zh: '特发性（原发性）高血压', name_en: 'Essential (primary) hypertension',
  chapter: 'IX', chapter_zh: '循环系统疾病', chapter_en: 'Diseases of the circulatory system',
}

describe('the term being typed', () => {
  it('is the whole text for one code', () => {
    expect(currentTerm('  高血压 ')).toBe('高血压')
  })
  it('is the part after the last comma (ASCII or full-width) for several codes', () => {
    expect(currentTerm('R91, 高血压', true)).toBe('高血压')
    expect(currentTerm('R91，j18', true)).toBe('j18')
    expect(currentTerm('R91, ', true)).toBe('')
  })
  it('is searched only when not empty and at most 50 characters', () => {
    expect(searchable('')).toBe(false)
    expect(searchable('i')).toBe(true)
    expect(searchable('x'.repeat(50))).toBe(true)
    expect(searchable('x'.repeat(51))).toBe(false)
  })
})

describe('a pick', () => {
  it('replaces the whole text for one code', () => {
    expect(applyPick('高血压', 'I10')).toBe('I10')
  })
  it('replaces only the term being typed for several codes', () => {
    expect(applyPick('R91, 高血压', 'I10', true)).toBe('R91, I10')
    expect(applyPick('R91，高', 'I10', true)).toBe('R91, I10')
    expect(applyPick('高血压', 'I10', true)).toBe('I10')
    expect(applyPick('', 'I10', true)).toBe('I10')
  })
})

describe('the name shown', () => {
  it('follows the language', () => {
    expect(codeName(I10, true)).toBe('特发性（原发性）高血压')
    expect(codeName(I10, false)).toBe('Essential (primary) hypertension')
    expect(codeName({ ...I10, name_en: '' }, false)).toBe('特发性（原发性）高血压')
  })
})

describe('keyboard', () => {
  const closed = { open: false, active: -1 }
  it('down opens on the first option, up on the last, and both wrap', () => {
    expect(onKey(closed, 'ArrowDown', 3)).toEqual({ state: { open: true, active: 0 }, effect: 'none', handled: true })
    expect(onKey(closed, 'ArrowUp', 3).state).toEqual({ open: true, active: 2 })
    expect(onKey({ open: true, active: 2 }, 'ArrowDown', 3).state.active).toBe(0)
    expect(onKey({ open: true, active: 0 }, 'ArrowUp', 3).state.active).toBe(2)
    expect(onKey({ open: true, active: 0 }, 'ArrowDown', 3).state.active).toBe(1)
  })
  it('arrows do nothing without options (the cursor moves as usual)', () => {
    expect(onKey(closed, 'ArrowDown', 0).handled).toBe(false)
  })
  it('Enter picks the highlighted option and closes; without one it submits the form', () => {
    expect(onKey({ open: true, active: 1 }, 'Enter', 3)).toEqual({ state: closed, effect: 'pick', handled: true })
    expect(onKey({ open: true, active: -1 }, 'Enter', 3).handled).toBe(false)
    expect(onKey(closed, 'Enter', 3).handled).toBe(false)
  })
  it('Escape closes an open list, and is left alone otherwise', () => {
    expect(onKey({ open: true, active: 1 }, 'Escape', 3)).toEqual({ state: closed, effect: 'close', handled: true })
    expect(onKey(closed, 'Escape', 3).handled).toBe(false)
  })
  it('other keys change nothing', () => {
    expect(onKey({ open: true, active: 1 }, 'a', 3)).toEqual({ state: { open: true, active: 1 }, effect: 'none', handled: false })
  })
})

describe('highlight', () => {
  it('marks every occurrence, case-insensitively', () => {
    expect(highlight('Essential (primary) hypertension', 'TENS')).toEqual([
      { text: 'Essential (primary) hyper', match: false },
      { text: 'tens', match: true },
      { text: 'ion', match: false },
    ])
    expect(highlight('高血压性心脏病伴高血压', '高血压').filter((s) => s.match)).toHaveLength(2)
  })
  it('leaves the label whole without a term', () => {
    expect(highlight('肺炎', ' ')).toEqual([{ text: '肺炎', match: false }])
  })
})

describe('debounce', () => {
  afterEach(() => {
    vi.useRealTimers()
  })
  it('calls once with the last arguments after the quiet period', () => {
    vi.useFakeTimers()
    const fn = vi.fn()
    const d = debounce(fn, 250)
    d.call('高')
    vi.advanceTimersByTime(200)
    d.call('高血')
    vi.advanceTimersByTime(200)
    d.call('高血压')
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(250)
    expect(fn).toHaveBeenCalledTimes(1)
    expect(fn).toHaveBeenCalledWith('高血压')
  })
  it('cancel drops the pending call', () => {
    vi.useFakeTimers()
    const fn = vi.fn()
    const d = debounce(fn, 250)
    d.call('x')
    d.cancel()
    vi.advanceTimersByTime(1000)
    expect(fn).not.toHaveBeenCalled()
  })
})
