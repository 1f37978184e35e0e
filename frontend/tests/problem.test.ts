import { describe, expect, it } from 'vitest'
import { ApiError, fieldKey, problemMessage, toProblem } from '../src/lib/problem'
import { has, setLocale, t } from '../src/i18n'

describe('problem+json handling', () => {
  it('keys field errors by the field the form shows', () => {
    expect(fieldKey('body.resident_id')).toBe('resident_id')
    expect(fieldKey('query.q')).toBe('q')
    expect(fieldKey('items.0.name')).toBe('name')
    const e = new ApiError(
      toProblem(422, {
        status: 422,
        code: 'invalid',
        detail: 'resident_id: bad',
        errors: [{ field: 'resident_id', message: 'check digit is 1, expected X' }],
      }),
    )
    expect(e.fieldErrors).toEqual({ resident_id: 'check digit is 1, expected X' })
  })

  it('reads FastAPI default validation bodies too', () => {
    const p = toProblem(422, { detail: [{ loc: ['body', 'name'], msg: 'Field required' }] })
    expect(p.errors).toEqual([{ field: 'body.name', message: 'Field required' }])
    expect(new ApiError(p).fieldErrors).toEqual({ name: 'Field required' })
  })

  it('translates known codes and falls back to the status', () => {
    setLocale('en')
    const known = new ApiError({ status: 409, code: 'patient_exists', detail: 'x' })
    expect(problemMessage(known, t, has)).toBe('A patient with this resident ID is registered already')
    const unknown = new ApiError({ status: 418, code: 'teapot', detail: 'x' })
    expect(problemMessage(unknown, t, has)).toBe('The request failed (418): teapot')
    expect(problemMessage(new ApiError({ status: 502, detail: 'x' }), t, has)).toBe('The request failed (502)')
    setLocale('zh-CN')
    expect(problemMessage(known, t, has)).toBe('该身份证号的患者已登记')
    expect(problemMessage(new ApiError({ status: 0, detail: 'offline' }), t, has)).toBe(
      '无法连接服务器，请检查网络后重试',
    )
  })

  it('keeps plain-text bodies as the detail', () => {
    expect(toProblem(502, null, 'Bad Gateway')).toEqual({ status: 502, detail: 'Bad Gateway' })
  })
})

describe('problem parameters', () => {
  it('fill the catalogue text and never bring the English detail', async () => {
    const { problemParams } = await import('../src/lib/problem')
    const p = toProblem(409, {
      status: 409,
      code: 'invalid_transition',
      detail: "referral is 'closed'; 'accept' is not allowed from that state",
      current_state: 'closed',
      action: 'accept',
      errors: [{ field: 'body.contact_by', message: 'x' }],
    })
    expect(problemParams(p)).toMatchObject({ current_state: 'closed', action: 'accept', field: 'contact_by', status: 409 })
    setLocale('zh-CN')
    expect(problemMessage(new ApiError(p), t, has)).not.toMatch(/allowed/)
  })
})

describe('history reasons', () => {
  it('render a server reason code in the language, a typed reason as written', async () => {
    const { historyReason } = await import('../src/lib/history')
    setLocale('zh-CN')
    expect(historyReason({ reason: '', data: { reason_code: 'opinion_received' } }, t, has)).toBe('已收到会诊意见')
    expect(historyReason({ reason: null, data: { reason_code: 'brand_new' } }, t, has)).toBe('系统原因（brand_new）')
    expect(historyReason({ reason: '本周无床位', data: {} }, t, has)).toBe('本周无床位')
    setLocale('en')
    expect(historyReason({ reason: '', data: { reason_code: 'contact_date_passed' } }, t, has)).toBe('contact date passed')
    setLocale('zh-CN')
  })
})
