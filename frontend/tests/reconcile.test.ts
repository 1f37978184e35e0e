import { describe, expect, it } from 'vitest'
import { dicomSex, formatDicomDate } from '../src/lib/reconcile'
import { setLocale } from '../src/i18n'

describe('reconciliation helpers', () => {
  it('formats DICOM dates and leaves odd values alone', () => {
    expect(formatDicomDate('19620314')).toBe('1962-03-14')
    expect(formatDicomDate('1962')).toBe('1962')
    expect(formatDicomDate('')).toBe('')
  })
  it('names DICOM sex codes in the current language', () => {
    setLocale('zh-CN')
    expect(dicomSex('M')).toBe('男')
    expect(dicomSex('f')).toBe('女')
    expect(dicomSex('O')).toBe('其他')
    expect(dicomSex('')).toBe('—')
    setLocale('en')
    expect(dicomSex('F')).not.toBe('女')
    setLocale('zh-CN')
  })
})
