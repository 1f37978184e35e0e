/** The audit log page: labels of the server's codes, filter options, the Beijing-day range. */
import { has, t } from '../i18n'
import zhCN from '../i18n/zh-CN'
import { shanghaiToUtc } from './time'

export interface AuditActor {
  id: string
  username: string
  full_name: string
  role: string
  institution_id: string | null
  institution_name_zh: string | null
  institution_name_en: string | null
}

export interface AuditEvent {
  id: string
  at: string
  actor_id: string | null
  actor_role: string | null
  actor: AuditActor | null
  action: string
  object_type: string
  object_id: string
  patient_id: string | null
  patient_ids: string[]
  ip: string | null
  detail: Record<string, unknown>
}

export type AuditGroup = 'actions' | 'objects'

/** A code's label in the user's language; a code the catalogue lacks is shown as it is. */
export function auditLabel(group: AuditGroup, code: string): string {
  const key = `audit.${group}.${code}`
  return has(key) ? t(key) : code
}

/** The codes a filter offers (every code the catalogue names), sorted by their label. */
export function auditOptions(group: AuditGroup): { value: string; label: string }[] {
  return Object.keys(zhCN.audit[group])
    .map((value) => ({ value, label: auditLabel(group, value) }))
    .sort((a, b) => a.label.localeCompare(b.label))
}

/** Whole Beijing days `from`..`until` (both included) as the API's `since`/`until` instants. */
export function auditRange(from: string, until: string): { since?: string; until?: string } {
  const out: { since?: string; until?: string } = {}
  if (from) out.since = shanghaiToUtc(from).toISOString()
  if (until) out.until = new Date(shanghaiToUtc(until).getTime() + 86_400_000).toISOString()
  return out
}

/** A range whose last day is before its first; the page refuses it before asking. */
export function auditRangeReversed(from: string, until: string): boolean {
  return Boolean(from && until && until < from)
}

/** Who acted, as one line: name · role · hospital; the system when no account is named. */
export function auditActorLine(e: AuditEvent, zh: boolean): string {
  if (!e.actor) return e.actor_role && e.actor_role !== 'system' ? t(`role.${e.actor_role}`) : t('audit.system')
  const parts = [e.actor.full_name, has(`role.${e.actor.role}`) ? t(`role.${e.actor.role}`) : e.actor.role]
  const hospital = zh ? e.actor.institution_name_zh : e.actor.institution_name_en || e.actor.institution_name_zh
  if (hospital) parts.push(hospital)
  return parts.join(' · ')
}

/** A refusal's reason as the reader's language says it: a reason that starts with a problem
 * code (`not_course_manager: …`, written by the API for a 403) or an audit reason code
 * (`notification_rejected: bad_signature`) is shown by its message; others as written. */
export function refusalReason(reason: string): string {
  const code = /^([a-z][a-z0-9_]*)(?::|$)/.exec(reason)?.[1]
  if (code && has(`errors.${code}`)) return t(`errors.${code}`)
  if (code && has(`audit.reasons.${code}`)) {
    const rest = reason.slice(code.length + 1).trim()
    const more = rest && has(`errors.${rest}`) ? t(`errors.${rest}`) : rest
    return more ? `${t(`audit.reasons.${code}`)}（${more}）` : t(`audit.reasons.${code}`)
  }
  return reason
}
