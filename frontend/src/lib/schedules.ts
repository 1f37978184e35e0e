/** Weekly schedule rules (scheduling API): weekdays are "0,2,4" with 0 = Monday. */
export interface Rule {
  id: string
  institution_id: string
  specialist_id: string | null
  resource_name: string | null
  specialty_code: string
  service_class: string
  weekdays: string
  start_time: string
  end_time: string
  slot_minutes: number
  capacity: number
  reserved_share: number
  release_hours_before: number
  active: boolean
  version: number
}

export function parseWeekdays(value: string): number[] {
  return value
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map(Number)
    .filter((d) => Number.isInteger(d) && d >= 0 && d <= 6)
    .sort((a, b) => a - b)
}

/** "08:30:00" -> "08:30" (local Asia/Shanghai times as the API gives them). */
export function hhmm(value: string): string {
  return value.slice(0, 5)
}

/** Rules of a specialist together, then by weekdays and start time. */
export function sortRules(rules: Rule[]): Rule[] {
  const key = (r: Rule) => `${r.specialist_id ?? r.resource_name ?? ''}|${r.start_time}|${r.weekdays}`
  return [...rules].sort((a, b) => key(a).localeCompare(key(b)))
}
