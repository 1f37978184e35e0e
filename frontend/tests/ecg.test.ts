import { describe, expect, it } from 'vitest'
import { caliper, CSS_PX_PER_MM, devicePxPerMm, geometry, gridLines, qtc } from '../src/lib/ecg'
import { readerFor, readerForStudy, readerRoute } from '../src/lib/readers'

describe('readerFor', () => {
  it('picks the reader by SOP class', () => {
    expect(readerFor('1.2.840.10008.5.1.4.1.1.9.1.1')).toBe('ecg')
    expect(readerFor('1.2.840.10008.5.1.4.1.1.9.1.2')).toBe('ecg')
    expect(readerFor('1.2.840.10008.5.1.4.1.1.77.1.6')).toBe('slide')
    expect(readerFor('1.2.840.10008.5.1.4.1.1.2')).toBe('stack')
    expect(readerFor('1.2.840.10008.5.1.4.1.1.9.1')).toBe('stack')
    expect(readerFor(null)).toBe('stack')
    expect(readerRoute('ecg', '1.2.3')).toBe('/ecg/1.2.3')
    expect(readerRoute('stack', '1.2.3')).toBe('/viewer/1.2.3')
    expect(readerRoute('slide', '1.2.3')).toBe('/slide/1.2.3')
  })

  it('picks a study\'s reader from its series modalities', () => {
    expect(readerForStudy(['ECG'])).toBe('ecg')
    expect(readerForStudy(['SM', 'SM'])).toBe('slide')
    expect(readerForStudy(['CT', 'SR'])).toBe('stack')
    expect(readerForStudy(['ECG', 'CT'])).toBe('stack')
    expect(readerForStudy([])).toBe('stack')
  })
})

describe('ECG paper', () => {
  it('maps millimetres to device pixels at the pixel ratio', () => {
    expect(CSS_PX_PER_MM).toBeCloseTo(3.7795, 4)
    expect(devicePxPerMm(2)).toBeCloseTo(7.559, 3)
    expect(devicePxPerMm(1.5, 4)).toBe(6)
    const lines = gridLines(25, 5, devicePxPerMm(2))
    expect(lines).toHaveLength(6)
    expect(lines[5] - lines[0]).toBeCloseTo(25 * 7.559, 1)
  })

  it('lays out 4 columns of 2.5 s and rows that hold 2.6 mV', () => {
    const g = geometry({ speed: 25, gain: 10 })
    expect(g.widthMm - g.marginMm - 5).toBe(250)
    expect(g.rowMm).toBe(30)
    expect(geometry({ speed: 50, gain: 20 }).widthMm - geometry({ speed: 50, gain: 20 }).marginMm).toBe(505)
    expect(geometry({ speed: 25, gain: 5 }).rowMm).toBe(25)
  })

  it('reads calipers in ms, µV and bpm', () => {
    const paper = { speed: 25, gain: 10, pxPerMm: 8 }
    const c = caliper(20 * 8, -10 * 8, paper) // 20 mm across, 10 mm up
    expect(c.ms).toBeCloseTo(800)
    expect(c.bpm).toBeCloseTo(75)
    expect(c.uv).toBeCloseTo(1000)
  })

  it('corrects QT by Bazett and Fridericia', () => {
    expect(qtc(380, 800)).toEqual({ bazett: 425, fridericia: 409 })
    expect(qtc(null, 800)).toEqual({ bazett: null, fridericia: null })
  })
})
