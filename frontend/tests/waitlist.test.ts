import { describe, expect, it } from 'vitest'
import { setLocale, t } from '../src/i18n'
import {
  addDays,
  checkWaitlistForm,
  waitlistActions,
  waitlistBody,
  waitlistDates,
  waitlistStatusKey,
  WAITLIST_STATUSES,
  type WaitlistForm,
} from '../src/lib/scheduling'

const form = (over: Partial<WaitlistForm> = {}): WaitlistForm => ({
  specialty_code: 'cardiology',
  service_class: 'outpatient',
  institution_id: '',
  from: '2026-12-01',
  to: '2026-12-03',
  ...over,
})

describe('waitlist entries', () => {
  it('offer leave while waiting, confirm and decline when a place is held, nothing once ended', () => {
    expect(waitlistActions({ status: 'waiting', offered_booking_id: null })).toEqual(['leave'])
    expect(waitlistActions({ status: 'offered', offered_booking_id: 'b1' })).toEqual(['confirm', 'decline'])
    expect(waitlistActions({ status: 'offered', offered_booking_id: null })).toEqual(['decline'])
    for (const status of ['done', 'lapsed', 'cancelled'] as const) {
      expect(waitlistActions({ status, offered_booking_id: 'b1' }), status).toEqual([])
    }
  })

  it('label every status in both languages', () => {
    for (const status of WAITLIST_STATUSES) {
      const key = waitlistStatusKey(status)
      setLocale('zh-CN')
      const zh = t(key)
      setLocale('en')
      const en = t(key)
      expect(zh, status).not.toBe(key)
      expect(en, status).not.toBe(key)
      expect(zh).not.toBe(en)
    }
    setLocale('zh-CN')
    expect(t(waitlistStatusKey('waiting'))).toBe('候补中')
    expect(waitlistStatusKey('something_new')).toBe('')
  })

  it('show a stored range as its first and last Shanghai day', () => {
    // 2026-12-01 00:00 to 2026-12-04 00:00 Shanghai, as the API stores it
    expect(waitlistDates({ start_at: '2026-11-30T16:00:00Z', end_at: '2026-12-03T16:00:00Z' })).toEqual({
      from: '2026-12-01',
      to: '2026-12-03',
    })
  })
})

describe('joining the waitlist', () => {
  it('adds days across month ends', () => {
    expect(addDays('2026-11-30', 1)).toBe('2026-12-01')
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01')
  })

  it('needs a specialty and a range that ends today or later, not before it starts', () => {
    expect(checkWaitlistForm(form(), '2026-11-27')).toEqual({})
    expect(checkWaitlistForm(form({ specialty_code: '' }), '2026-11-27')).toEqual({ specialty_code: 'waitlist.pickSpecialty' })
    expect(checkWaitlistForm(form({ from: '', to: '' }), '2026-11-27')).toEqual({
      start_at: 'waitlist.dateRequired',
      end_at: 'waitlist.dateRequired',
    })
    expect(checkWaitlistForm(form({ from: '2026-12-03', to: '2026-12-01' }), '2026-11-27')).toEqual({ end_at: 'waitlist.endBeforeStart' })
    expect(checkWaitlistForm(form({ from: '2026-11-20', to: '2026-11-26' }), '2026-11-27')).toEqual({ end_at: 'waitlist.inPast' })
    expect(checkWaitlistForm(form({ from: '2026-11-27', to: '2026-11-27' }), '2026-11-27')).toEqual({})
  })

  it('sends whole Shanghai days as UTC and leaves out filters not chosen', () => {
    expect(waitlistBody(form())).toEqual({
      specialty_code: 'cardiology',
      service_class: 'outpatient',
      start_at: '2026-11-30T16:00:00.000Z',
      end_at: '2026-12-03T16:00:00.000Z',
    })
    expect(waitlistBody(form({ service_class: '', institution_id: 'i1', patient_id: 'p1', from: '2026-12-01', to: '2026-12-01' }))).toEqual({
      specialty_code: 'cardiology',
      institution_id: 'i1',
      patient_id: 'p1',
      start_at: '2026-11-30T16:00:00.000Z',
      end_at: '2026-12-01T16:00:00.000Z',
    })
  })
})
