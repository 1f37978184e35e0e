import { describe, expect, it } from 'vitest'
import { setLocale } from '../src/i18n'
import zh from '../src/i18n/zh-CN/audit'
import en from '../src/i18n/en/audit'
import {
  auditActorLine,
  auditLabel,
  auditOptions,
  auditRange,
  auditRangeReversed,
  type AuditEvent,
  refusalReason,
} from '../src/lib/audit'

const row = (over: Partial<AuditEvent> = {}): AuditEvent => ({
  id: '0192f1a2-0000-7000-8000-000000000001',
  at: '2026-12-01T01:00:00Z',
  actor_id: 'u1',
  actor_role: 'county_doctor',
  actor: {
    id: 'u1',
    username: 'county-doctor',
    full_name: '李医生',
    role: 'county_doctor',
    institution_id: 'i1',
    institution_name_zh: '某县人民医院',
    institution_name_en: 'County People\'s Hospital',
  },
  action: 'read',
  object_type: 'patient',
  object_id: 'p1',
  patient_id: null,
  patient_ids: [],
  ip: null,
  detail: {},
  ...over,
})

describe('audit log labels', () => {
  it('render actions and object types in the user language, unknown codes as they are', () => {
    setLocale('zh-CN')
    expect(auditLabel('actions', 'refused')).toBe('拒绝访问')
    expect(auditLabel('objects', 'home_bed')).toBe('家庭病床')
    expect(auditLabel('actions', 'Task.status=accepted')).toBe('Task.status=accepted')
    setLocale('en')
    expect(auditLabel('objects', 'home_bed')).toBe('Home sick bed')
    setLocale('zh-CN')
  })

  it('offer every catalogued code, sorted by label, in both languages', () => {
    expect(Object.keys(en.audit.actions)).toEqual(Object.keys(zh.audit.actions))
    setLocale('en')
    const labels = auditOptions('objects').map((o) => o.label)
    expect(labels).toEqual([...labels].sort((a, b) => a.localeCompare(b)))
    expect(auditOptions('actions').map((o) => o.value).sort()).toEqual(Object.keys(zh.audit.actions).sort())
    setLocale('zh-CN')
  })

  it('name the actor with role and hospital, the system when none', () => {
    setLocale('zh-CN')
    expect(auditActorLine(row(), true)).toBe('李医生 · 县级医生 · 某县人民医院')
    setLocale('en')
    expect(auditActorLine(row(), false)).toBe("李医生 · County doctor · County People's Hospital")
    setLocale('zh-CN')
    expect(auditActorLine(row({ actor: null, actor_id: null, actor_role: 'system' }), true)).toBe('系统')
  })
})

describe('audit date range', () => {
  it('turns whole Beijing days into UTC instants, the last day included', () => {
    expect(auditRange('2026-12-01', '2026-12-02')).toEqual({
      since: '2026-11-30T16:00:00.000Z',
      until: '2026-12-02T16:00:00.000Z',
    })
    expect(auditRange('', '')).toEqual({})
    expect(auditRangeReversed('2026-12-02', '2026-12-01')).toBe(true)
    expect(auditRangeReversed('2026-12-01', '2026-12-01')).toBe(false)
  })
})

describe('a refusal\'s reason', () => {
  it('is the message of the problem code it starts with, else as written', () => {
    setLocale('zh-CN')
    expect(refusalReason('not_course_manager: only the speaker or the managers')).toBe(
      '只有主讲人所在医院的管理员可以管理该课程',
    )
    expect(refusalReason('notification_rejected: bad_signature')).toBe('支付通知验签未通过（通知签名验证失败）')
    expect(refusalReason('a reason of its own')).toBe('a reason of its own')
    setLocale('en')
    expect(refusalReason('not_enrolled')).toBe('You are not enrolled in this course')
    setLocale('zh-CN')
  })
})
