import { describe, expect, it } from 'vitest'
import {
  complianceLevel,
  countTicks,
  formatPercent,
  groupedBars,
  labelStep,
  linePath,
  niceMax,
  shortDay,
  ticks,
  yOf,
  type Box,
} from '../src/lib/charts'
import { lastDays, rangeProblem } from '../src/lib/dashboard'

const box: Box = { width: 240, height: 120, left: 20, right: 20, top: 10, bottom: 10 }

describe('chart scaling', () => {
  it('rounds the axis up to a nice number', () => {
    expect(niceMax(0)).toBe(1)
    expect(niceMax(-3)).toBe(1)
    expect(niceMax(1)).toBe(1)
    expect(niceMax(3)).toBe(5)
    expect(niceMax(7)).toBe(10)
    expect(niceMax(13)).toBe(20)
    expect(niceMax(21)).toBe(25)
    expect(niceMax(131)).toBe(200)
    expect(niceMax(0.42)).toBe(0.5)
  })

  it('spaces ticks evenly and keeps count ticks whole', () => {
    expect(ticks(100, 4)).toEqual([0, 25, 50, 75, 100])
    expect(countTicks(3)).toEqual({ top: 5, values: [0, 1, 2, 3, 4, 5] })
    expect(countTicks(0)).toEqual({ top: 1, values: [0, 1] })
    expect(countTicks(2)).toEqual({ top: 2, values: [0, 1, 2] })
    expect(countTicks(21)).toEqual({ top: 25, values: [0, 5, 10, 15, 20, 25] })
    expect(countTicks(8).values).toEqual([0, 2, 4, 6, 8, 10])
  })

  it('lays out grouped bars inside the plot, heights in proportion', () => {
    const bars = groupedBars([[10, 5], [0, 20]], box, 20, 0.5)
    expect(bars).toHaveLength(4)
    // plot 200 wide: two bands of 100, inner 50, bars 25 wide
    expect(bars[0]).toMatchObject({ index: 0, series: 0, x: 45, width: 25, height: 50, y: 60 })
    expect(bars[1]).toMatchObject({ x: 70, height: 25, y: 85 })
    expect(bars[2]).toMatchObject({ index: 1, height: 0, y: 110 })
    expect(bars[3]).toMatchObject({ x: 170, height: 100, y: 10 })
    expect(groupedBars([], box, 10)).toEqual([])
    expect(groupedBars([[5]], box, 0)[0].height).toBe(0)
  })

  it('draws a line that breaks where a day has no measure', () => {
    expect(yOf(1, box, 1)).toBe(10)
    expect(yOf(0, box, 1)).toBe(110)
    expect(linePath([1, 0.5, null, 0], box, 1)).toBe('M45 10 L95 60 M195 110')
    expect(linePath([null, null], box, 1)).toBe('')
  })

  it('thins axis labels to what fits', () => {
    expect(labelStep(7, 10)).toBe(1)
    expect(labelStep(30, 10)).toBe(3)
    expect(labelStep(31, 10)).toBe(4)
  })
})

describe('dashboard formatting', () => {
  it('formats ratios as percentages and a dash for nothing measured', () => {
    expect(formatPercent(0.25)).toBe('25%')
    expect(formatPercent(0.8751)).toBe('87.5%')
    expect(formatPercent(1)).toBe('100%')
    expect(formatPercent(null)).toBe('—')
    expect(formatPercent(undefined)).toBe('—')
  })

  it('colours compliance by level', () => {
    expect(complianceLevel(0.95)).toBe('good')
    expect(complianceLevel(0.9)).toBe('good')
    expect(complianceLevel(0.8)).toBe('fair')
    expect(complianceLevel(0.25)).toBe('poor')
    expect(complianceLevel(null)).toBe('none')
  })

  it('shortens days for the axis', () => {
    expect(shortDay('2031-03-09')).toBe('03-09')
  })

  it('takes the last days in Shanghai and checks a range', () => {
    // 2031-03-10 16:30 UTC is already the 11th in Shanghai
    expect(lastDays(30, new Date(Date.UTC(2031, 2, 10, 16, 30)))).toEqual({ start: '2031-02-10', end: '2031-03-11' })
    expect(rangeProblem('2031-03-09', '2031-03-10')).toBe('')
    expect(rangeProblem('2031-03-10', '2031-03-09')).toBe('order')
    expect(rangeProblem('', '2031-03-09')).toBe('required')
    expect(rangeProblem('2030-01-01', '2031-01-02')).toBe('tooLong')
    expect(rangeProblem('2030-01-01', '2031-01-01')).toBe('')
  })
})
