/** Weekly schedule rules (scheduling API): weekdays are "0,2,4" with 0 = Monday. */
import type { Schemas } from './api'
export type Rule = Schemas['RulePublic']

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

export const SERVICE_CLASSES = ['outpatient', 'consultation', 'imaging_reading', 'mdt', 'training', 'home_visit'] as const

/** The new-rule form as the coordinator fills it (reserved share in per cent). */
export interface RuleForm {
  specialist_id: string
  service_class: string
  weekdays: number[]
  start_time: string
  end_time: string
  slot_minutes: number
  capacity: number
  reserved_pct: number
  release_hours_before: number
  valid_from: string
}

export function emptyRuleForm(): RuleForm {
  return {
    specialist_id: '',
    service_class: 'outpatient',
    weekdays: [],
    start_time: '08:30',
    end_time: '11:30',
    slot_minutes: 30,
    capacity: 1,
    reserved_pct: 0,
    release_hours_before: 48,
    valid_from: '',
  }
}

/**
 * Field problems the browser can see before asking the server (keys are the API's field
 * names, values catalogue keys). The server checks again; overlap only it can know.
 */
export function checkRuleForm(f: RuleForm): Record<string, string> {
  const out: Record<string, string> = {}
  if (!f.specialist_id) out.specialist_id = 'schedules.pickSpecialist'
  if (!f.weekdays.length) out.weekdays = 'schedules.pickWeekday'
  if (!f.start_time) out.start_time = 'consult.required'
  if (!f.end_time) out.end_time = 'consult.required'
  else if (f.start_time && f.end_time <= f.start_time) out.end_time = 'schedules.endAfterStart'
  if (!Number.isInteger(f.slot_minutes) || f.slot_minutes < 5 || f.slot_minutes > 480) out.slot_minutes = 'schedules.slotRange'
  if (!Number.isInteger(f.capacity) || f.capacity < 1 || f.capacity > 500) out.capacity = 'schedules.capacityRange'
  if (!(f.reserved_pct >= 0 && f.reserved_pct <= 100)) out.reserved_share = 'schedules.percentRange'
  if (!Number.isInteger(f.release_hours_before) || f.release_hours_before < 0) out.release_hours_before = 'schedules.hoursRange'
  return out
}

/** The POST /schedules body of a form. */
export function ruleBody(f: RuleForm): Record<string, unknown> {
  return {
    specialist_id: f.specialist_id,
    service_class: f.service_class,
    weekdays: [...new Set(f.weekdays)].sort((a, b) => a - b),
    start_time: f.start_time,
    end_time: f.end_time,
    slot_minutes: f.slot_minutes,
    capacity: f.capacity,
    reserved_share: Math.round(f.reserved_pct) / 100,
    release_hours_before: f.release_hours_before,
    ...(f.valid_from ? { valid_from: f.valid_from } : {}),
  }
}

