import { describe, expect, it } from 'vitest'
import { SseParser, notificationTarget, toLiveEvent } from '../src/lib/sse'
import { ageOn, shortQuestion } from '../src/lib/consultations'

describe('SSE parser', () => {
  it('joins events split across chunks and remembers the last id', () => {
    const p = new SseParser()
    expect(p.feed('retry: 2000\n\n: keep-alive\n\nid: 0.1\nevent: unr')).toEqual([])
    const out = p.feed('ead\ndata: {"unread": 3}\n\nid: abc.2\r\nevent: worklist\r\ndata: {"kind":"consultation","id":"c1","change":"submitted"}\r\n\r\n')
    expect(out.map((e) => [e.event, e.id])).toEqual([['unread', '0.1'], ['worklist', 'abc.2']])
    expect(p.lastId).toBe('abc.2')
    expect(p.retry).toBe(2000)
    expect(toLiveEvent(out[0])).toEqual({ type: 'unread', data: { unread: 3 } })
    expect(toLiveEvent(out[1])).toEqual({ type: 'worklist', data: { kind: 'consultation', id: 'c1', change: 'submitted' } })
  })

  it('waits for the second half of a CRLF and ignores unknown events and bad JSON', () => {
    const p = new SseParser()
    expect(p.feed('event: notification\rdata: {"id":"n","kind":"k","unread":1}\r')).toEqual([])
    const [ev] = p.feed('\n\r\n')
    expect(toLiveEvent(ev)).toEqual({ type: 'notification', data: { id: 'n', kind: 'k', unread: 1 } })
    expect(toLiveEvent({ event: 'other', id: null, data: '{}' })).toBeNull()
    expect(toLiveEvent({ event: 'worklist', id: null, data: '{' })).toBeNull()
  })
})

describe('notification targets', () => {
  it('follows the link, else what the data names', () => {
    expect(notificationTarget({ link: { kind: 'consultation', id: 'c1' } })).toBe('/consultations/c1')
    expect(notificationTarget({ link: { kind: 'referral', id: 'r 1' } })).toBe('/referrals?open=r%201')
    expect(notificationTarget({ consultation_id: 'c2' })).toBe('/consultations/c2')
    expect(notificationTarget({ booking_id: 'b1', slot_id: 's' })).toBe('/appointments')
    expect(notificationTarget({})).toBeNull()
  })
})

describe('worklist cells', () => {
  it('cuts long questions by characters and counts whole years', () => {
    expect(shortQuestion('请协助明确结节性质')).toBe('请协助明确结节性质')
    expect(shortQuestion('一二三四五六', 4)).toBe('一二三…')
    expect(ageOn('1962-12-04', '2026-12-03T10:00:00Z')).toBe(63)
    expect(ageOn('1962-12-03', '2026-12-03T10:00:00Z')).toBe(64)
    expect(ageOn(null, '2026-12-03')).toBeNull()
  })
})
