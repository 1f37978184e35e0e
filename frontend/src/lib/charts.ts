/** Scaling and formatting for the dashboard's hand-drawn SVG charts (no chart library). */

/** The smallest "nice" number (1, 2, 2.5, 5 × 10^k) at or above `max`; 1 for nothing to show. */
export function niceMax(max: number): number {
  if (!Number.isFinite(max) || max <= 0) return 1
  const power = 10 ** Math.floor(Math.log10(max))
  for (const step of [1, 2, 2.5, 5, 10]) {
    const candidate = step * power
    if (candidate >= max - 1e-9) return Number(candidate.toPrecision(12))
  }
  return 10 * power
}

/** Evenly spaced axis values from 0 to `top` (inclusive), `count` intervals. */
export function ticks(top: number, count = 4): number[] {
  const out: number[] = []
  for (let i = 0; i <= count; i++) out.push(Number(((top * i) / count).toPrecision(12)))
  return out
}

/** Whole-number ticks for counts: no "0.5 consultations" on a small axis. Tops of 10 and
 * more (1, 2, 2.5, 5 × 10^k) split into five whole steps; smaller ones step by one. */
export function countTicks(max: number): { top: number; values: number[] } {
  const top = Math.max(Math.ceil(niceMax(max)), 1)
  return { top, values: ticks(top, top <= 5 ? top : 5) }
}

export interface Box {
  width: number
  height: number
  left: number
  right: number
  top: number
  bottom: number
}

export interface Bar {
  index: number
  series: number
  value: number
  x: number
  y: number
  width: number
  height: number
}

/** Grouped bars: one group per category, one bar per series, scaled to `top`. */
export function groupedBars(groups: number[][], box: Box, top: number, gap = 0.25): Bar[] {
  const plotW = box.width - box.left - box.right
  const plotH = box.height - box.top - box.bottom
  if (!groups.length || plotW <= 0 || plotH <= 0) return []
  const band = plotW / groups.length
  const inner = band * (1 - gap)
  const bars: Bar[] = []
  groups.forEach((values, index) => {
    const w = inner / Math.max(values.length, 1)
    values.forEach((value, series) => {
      const h = top > 0 ? (Math.max(value, 0) / top) * plotH : 0
      bars.push({
        index,
        series,
        value,
        x: round(box.left + index * band + (band - inner) / 2 + series * w),
        y: round(box.top + plotH - h),
        width: round(w),
        height: round(h),
      })
    })
  })
  return bars
}

/** The y coordinate of `value` on an axis from 0 to `top`. */
export function yOf(value: number, box: Box, top: number): number {
  const plotH = box.height - box.top - box.bottom
  return round(box.top + plotH - (top > 0 ? (value / top) * plotH : 0))
}

/** The x centre of category `index` of `n`. */
export function xOf(index: number, n: number, box: Box): number {
  const plotW = box.width - box.left - box.right
  return round(box.left + (plotW / Math.max(n, 1)) * (index + 0.5))
}

/** An SVG path through the points; a null value breaks the line (no data that day). */
export function linePath(values: (number | null)[], box: Box, top: number): string {
  let d = ''
  let pen = false
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      pen = false
      return
    }
    d += `${pen ? 'L' : 'M'}${xOf(i, values.length, box)} ${yOf(v, box, top)} `
    pen = true
  })
  return d.trim()
}

/** Show every k-th label so that at most `max` fit under an axis. */
export function labelStep(n: number, max: number): number {
  return n <= max ? 1 : Math.ceil(n / max)
}

/** "87.5%"; a dash when nothing was measured. */
export function formatPercent(ratio: number | null | undefined, digits = 1): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—'
  const pct = ratio * 100
  const fixed = pct.toFixed(digits)
  return `${fixed.replace(/\.0+$/, '')}%`
}

export type Level = 'good' | 'fair' | 'poor' | 'none'

/** Colour class of a service-level compliance: ≥ 90 % good, ≥ 75 % fair, else poor. */
export function complianceLevel(ratio: number | null | undefined): Level {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return 'none'
  if (ratio >= 0.9) return 'good'
  if (ratio >= 0.75) return 'fair'
  return 'poor'
}

/** "03-09" from "2031-03-09" (axis labels). */
export function shortDay(iso: string): string {
  return iso.length >= 10 ? iso.slice(5, 10) : iso
}

function round(v: number): number {
  return Math.round(v * 100) / 100
}
