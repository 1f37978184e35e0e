/** Times are stored in UTC by the API and always shown in Asia/Shanghai (UTC+8, no DST). */

export const TIME_ZONE = 'Asia/Shanghai'

type Input = string | number | Date | null | undefined

function toDate(value: Input): Date | null {
  if (value === null || value === undefined || value === '') return null
  const d = value instanceof Date ? value : new Date(value)
  return Number.isNaN(d.getTime()) ? null : d
}

function parts(d: Date): Record<string, string> {
  const fmt = new Intl.DateTimeFormat('en-GB', {
    timeZone: TIME_ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  })
  const out: Record<string, string> = {}
  for (const p of fmt.formatToParts(d)) out[p.type] = p.value
  return out
}

/** "2026-12-01 09:00" in Shanghai time; empty string for a missing or invalid value. */
export function formatDateTime(value: Input, opts: { seconds?: boolean } = {}): string {
  const d = toDate(value)
  if (!d) return ''
  const p = parts(d)
  const base = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`
  return opts.seconds ? `${base}:${p.second}` : base
}

/** "2026-12-01" in Shanghai time. */
export function formatDate(value: Input): string {
  const d = toDate(value)
  if (!d) return ''
  const p = parts(d)
  return `${p.year}-${p.month}-${p.day}`
}

/** "09:00" in Shanghai time. */
export function formatTime(value: Input): string {
  const d = toDate(value)
  if (!d) return ''
  const p = parts(d)
  return `${p.hour}:${p.minute}`
}

/** The UTC instant of a Shanghai wall-clock date and time ("2026-12-01", "09:00"). */
export function shanghaiToUtc(date: string, time = '00:00'): Date {
  const [y, m, d] = date.split('-').map(Number)
  const [hh, mm] = time.split(':').map(Number)
  return new Date(Date.UTC(y, m - 1, d, hh - 8, mm))
}

/** Today's date in Shanghai ("2026-12-01"). */
export function shanghaiToday(now: Date = new Date()): string {
  return formatDate(now)
}
