/** Shapes of the network dashboard API and its date range (Shanghai calendar days). */
import { request, type Schemas } from './api'
import { saveBlob } from './download'
import { formatDate } from './time'

export type Figures = Schemas['Figures']

export type LeagueFigures = Schemas['LeagueFigures']

export type DayFigures = Schemas['DayFigures']

export type NetworkDashboard = Schemas['NetworkDashboard']

export const DASHBOARD = '/dashboard/network'
export const MAX_DAYS = 366

/** The last `days` Shanghai days ending today (the server's default is 30). */
export function lastDays(days: number, now: Date = new Date()): { start: string; end: string } {
  const end = formatDate(now)
  const [y, m, d] = end.split('-').map(Number)
  const start = new Date(Date.UTC(y, m - 1, d - (days - 1)))
  return { start: start.toISOString().slice(0, 10), end }
}

/** A key of the form's range problem, or '' when the range may be asked for. */
export function rangeProblem(start: string, end: string): '' | 'required' | 'order' | 'tooLong' {
  if (!start || !end) return 'required'
  if (start > end) return 'order'
  const days = (Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / 86_400_000 + 1
  return days > MAX_DAYS ? 'tooLong' : ''
}

// ------------------------------------------------------------------ utilization (资源利用)

export type UtilizationRow = Schemas['UtilizationRow']

export type UtilizationTotals = Schemas['UtilizationTotals']

export type OverloadedSpecialist = Schemas['OverloadedSpecialist']

export type AllianceOutside = Schemas['AllianceOutside']

export type UtilizationDashboard = Schemas['UtilizationDashboard']

export const UTILIZATION = '/dashboard/utilization'
export const MAX_WEEKS = 53

/** The ISO week (`2026-W49`) of a calendar day `YYYY-MM-DD`. */
export function isoWeek(day: string): string {
  const [y, m, d] = day.split('-').map(Number)
  const date = new Date(Date.UTC(y, m - 1, d))
  const weekday = (date.getUTCDay() + 6) % 7 // Monday = 0
  date.setUTCDate(date.getUTCDate() - weekday + 3) // the Thursday decides the year
  const year = date.getUTCFullYear()
  const week = Math.floor((date.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1
  return `${year}-W${String(week).padStart(2, '0')}`
}

/** Monday `YYYY-MM-DD` of an ISO week `2026-W49` (null when malformed). */
export function weekMonday(week: string): string | null {
  const m = /^(\d{4})-W(\d{2})$/.exec(week)
  if (!m) return null
  const year = Number(m[1])
  const n = Number(m[2])
  const jan4 = new Date(Date.UTC(year, 0, 4))
  const monday = new Date(jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * 86_400_000 + (n - 1) * 7 * 86_400_000)
  if (n < 1 || isoWeek(monday.toISOString().slice(0, 10)) !== week) return null
  return monday.toISOString().slice(0, 10)
}

/** The last `weeks` ISO weeks up to this one (Shanghai calendar); the server's default is 4. */
export function lastWeeks(weeks: number, now: Date = new Date()): { from: string; to: string } {
  const today = formatDate(now)
  const [y, m, d] = today.split('-').map(Number)
  const back = new Date(Date.UTC(y, m - 1, d - 7 * (weeks - 1)))
  return { from: isoWeek(back.toISOString().slice(0, 10)), to: isoWeek(today) }
}

/** A key of the form's week-range problem, or '' when the range may be asked for. */
export function weekRangeProblem(from: string, to: string): '' | 'required' | 'format' | 'order' | 'tooLong' {
  if (!from || !to) return 'required'
  const a = weekMonday(from)
  const b = weekMonday(to)
  if (!a || !b) return 'format'
  if (a > b) return 'order'
  const weeks = (Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / (7 * 86_400_000) + 1
  return weeks > MAX_WEEKS ? 'tooLong' : ''
}

/** Minutes as the page shows them: under an hour in minutes, else hours with one decimal. */
export function formatMinutes(minutes: number | null | undefined, units: { min: string; h: string }): string {
  if (minutes === null || minutes === undefined) return '—'
  if (minutes < 60) return `${Math.round(minutes)} ${units.min}`
  return `${(minutes / 60).toFixed(1).replace(/\.0$/, '')} ${units.h}`
}

/** Download the utilization CSV with the bearer token (UTF-8 with BOM, for Excel). */
export async function downloadUtilizationCsv(query: Record<string, string | undefined>): Promise<string> {
  const text = await request<string>(UTILIZATION, { query: { ...query, format: 'csv' }, headers: { Accept: 'text/csv' } })
  const name = `utilization-${query.from_week ?? ''}-${query.to_week ?? ''}.csv`
  // fetch's text() drops the byte-order mark; Excel needs it to read UTF-8
  const body = text.startsWith('\ufeff') ? text : `\ufeff${text}`
  saveBlob(new Blob([body], { type: 'text/csv;charset=utf-8' }), name)
  return name
}
