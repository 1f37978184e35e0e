/** Shapes of the network dashboard API and its date range (Shanghai calendar days). */
import { formatDate } from './time'

export interface Figures {
  hospitals: number
  consultations: number
  consultations_by_state: Record<string, number>
  accept_measured: number
  accepted_in_time: number
  accept_breaches: number
  report_measured: number
  reported_in_time: number
  report_breaches: number
  sla_compliance: number | null
  referrals: number
  referrals_up: number
  referrals_down: number
  referrals_completed: number
  referrals_closed: number
  closure_rate: number | null
}

export interface LeagueFigures extends Figures {
  code: string
  name_zh: string
  name_en: string
}

export interface DayFigures {
  day: string
  consultations: number
  referrals: number
  sla_compliance: number | null
}

export interface NetworkDashboard {
  start: string
  end: string
  timezone: string
  generated_at: string
  totals: Figures
  leagues: LeagueFigures[]
  days: DayFigures[]
}

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
