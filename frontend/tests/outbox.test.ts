import { describe, expect, it } from 'vitest'
import { recipientLabel, type OutboxItem } from '../src/lib/outbox'
import { setLocale } from '../src/i18n'

const base: OutboxItem = {
  id: 'n1',
  user_id: null,
  patient_id: 'p1',
  phone_masked: '139****0001',
  channel: 'sms',
  kind: 'waitlist.offer',
  status: 'dead',
  attempts: 1,
  last_error: null,
  created_at: '2026-12-03T02:00:00Z',
  next_attempt_at: null,
  dead_at: null,
}

describe('outbox recipients', () => {
  it('names the patient by the masked phone the server sent', () => {
    setLocale('zh-CN')
    expect(recipientLabel(base)).toBe('患者 139****0001')
    expect(recipientLabel({ ...base, phone_masked: null })).toBe('患者（无手机号）')
    setLocale('en')
    expect(recipientLabel(base)).toBe('Patient, 139****0001')
    setLocale('zh-CN')
  })
  it('says account for a row with no patient', () => {
    expect(recipientLabel({ ...base, patient_id: null, phone_masked: null, user_id: 'u1' })).toBe('账户')
  })
})
