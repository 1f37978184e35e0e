/**
 * The ECG reader's data and paper geometry. `GET /api/v1/studies/{uid}/ecg` gives the leads
 * in µV and the server's automatic measurements; the paper maps seconds and millivolts to
 * millimetres (speed mm/s, gain mm/mV) and millimetres to device pixels through a stated
 * scale (CSS px per mm, 96 / 25.4 by default, times the device pixel ratio).
 */
export interface EcgLead {
  label: string
  code: string
  scheme: string
  filter_low_hz: number | null
  filter_high_hz: number | null
  notch_hz: number | null
  samples: number[]
}

/** The automatic measurements `GET /studies/{uid}/ecg/measurements` offers (an untyped
 * object in the OpenAPI). */
export interface EcgMeasurements {
  sop_uid?: string
  automatic?: boolean
  method?: string
  note?: string
  beats?: number
  heart_rate_bpm: number | null
  rr_ms: number | null
  pr_ms: number | null
  qrs_ms: number | null
  qt_ms: number | null
  qtc_bazett_ms: number | null
  qtc_fridericia_ms: number | null
  axis_deg: number | null
}

export interface EcgPayload {
  study_uid: string
  series_uid: string
  sop_uid: string
  instances: string[]
  sop_class_uid: string
  sop_class: string
  sampling_rate: number
  recorded_sampling_rate: number
  duration_s: number
  units: 'uV'
  leads: EcgLead[]
}

export const MEASURES = [
  'heart_rate_bpm', 'rr_ms', 'pr_ms', 'qrs_ms', 'qt_ms', 'qtc_bazett_ms', 'qtc_fridericia_ms', 'axis_deg',
] as const
export type Measure = (typeof MEASURES)[number]

/** CSS pixels in one millimetre (CSS defines 1 in = 96 px = 25.4 mm). */
export const CSS_PX_PER_MM = 96 / 25.4
export const SPEEDS = [12.5, 25, 50] as const // mm/s
export const GAINS = [5, 10, 20] as const // mm/mV

/** The standard 3×4 arrangement (each column 2.5 s of consecutive time) and the rhythm lead. */
export const LAYOUT_3X4 = [
  ['I', 'aVR', 'V1', 'V4'],
  ['II', 'aVL', 'V2', 'V5'],
  ['III', 'aVF', 'V3', 'V6'],
]
export const RHYTHM_LEAD = 'II'
export const COLUMN_SECONDS = 2.5

export interface Paper {
  speed: number // mm/s
  gain: number // mm/mV
  pxPerMm: number // device pixels per millimetre
}

/** Device pixels per mm: a calibrated CSS px/mm (or the CSS default) × devicePixelRatio. */
export function devicePxPerMm(dpr: number, cssPxPerMm: number = CSS_PX_PER_MM): number {
  return cssPxPerMm * (dpr > 0 ? dpr : 1)
}

/** Millimetres of paper of the layout: left margin (calibration pulse), columns, rows. */
export interface Geometry {
  marginMm: number
  widthMm: number
  rowMm: number
  rows: number
  heightMm: number
}

export function geometry(paper: Pick<Paper, 'speed' | 'gain'>, rows = LAYOUT_3X4.length + 1): Geometry {
  const marginMm = 5 + 0.2 * paper.speed + 3 // a 200 ms pulse with room around it
  const widthMm = marginMm + COLUMN_SECONDS * 4 * paper.speed + 5
  const rowMm = Math.max(25, Math.ceil((paper.gain * 2.6) / 5) * 5)
  return { marginMm, widthMm, rowMm, rows, heightMm: rowMm * rows + 5 }
}

/** The positions (device px) of the grid lines every `stepMm` over `lengthMm`. */
export function gridLines(lengthMm: number, stepMm: number, pxPerMm: number): number[] {
  const out: number[] = []
  for (let mm = 0; mm <= lengthMm + 1e-9; mm += stepMm) out.push(mm * pxPerMm)
  return out
}

/** Time (ms) and amplitude (µV) spanned by a caliper of dx, dy device pixels. */
export function caliper(dxPx: number, dyPx: number, paper: Paper): { ms: number; uv: number; bpm: number | null } {
  const ms = (Math.abs(dxPx) / paper.pxPerMm / paper.speed) * 1000
  const uv = (-dyPx / paper.pxPerMm / paper.gain) * 1000
  return { ms, uv, bpm: ms > 0 ? 60000 / ms : null }
}

/** QTc by Bazett (QT/√RR) and Fridericia (QT/∛RR), RR in seconds. */
export function qtc(qtMs: number | null, rrMs: number | null): { bazett: number | null; fridericia: number | null } {
  if (!qtMs || !rrMs) return { bazett: null, fridericia: null }
  const rr = rrMs / 1000
  return { bazett: Math.round(qtMs / Math.sqrt(rr)), fridericia: Math.round(qtMs / Math.cbrt(rr)) }
}
