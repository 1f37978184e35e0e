import { describe, expect, it } from 'vitest'
import { byUrgency, choosablePackages, packageName, type Package, type PackageOffer, type Referral } from '../src/lib/referrals'

function ref(id: string, contact_by: string | null, breached = false): Referral {
  const row: Partial<Referral> = {
    id, patient_id: 'p', from_institution_id: 'a', to_institution_id: 'b', direction: 'up',
    urgency: 'routine', reason: '', diagnosis_code: 'I10', diagnosis_text: '', care_plan: null,
    status: 'requested', allowed_actions: [], contact_by, contact_by_breached: breached,
    booking_id: null, appointment_at: null, outcome_summary: null,
  }
  return row as Referral
}

describe('referral worklist order', () => {
  it('puts breached referrals first, then the soonest contact date, undated last', () => {
    const rows = [
      ref('later', '2026-12-10T00:00:00Z'),
      ref('none', null),
      ref('breached', '2026-12-20T00:00:00Z', true),
      ref('sooner', '2026-12-01T00:00:00Z'),
    ]
    expect(byUrgency(rows).map((r) => r.id)).toEqual(['breached', 'sooner', 'later', 'none'])
  })
})

describe('package names', () => {
  it('follow the locale', () => {
    const p = { code: 'hypertension', name_zh: '高血压包', name_en: 'Hypertension' } as Package
    expect(packageName(p, 'zh-CN')).toBe('高血压包')
    expect(packageName(p, 'en')).toBe('Hypertension')
  })
})

describe('choosablePackages', () => {
  const offer = (code: string, eligible: boolean): PackageOffer => ({
    code, name_zh: code, name_en: code, fee_yuan: 1, follow_up_interval_days: null, eligibility: null,
    insurance_share_pct: 0, kind: 'service', services: [], visits_per_year: 0,
    eligible, ineligible_reason: eligible ? null : 'under_65',
  })

  it('offers the eligible packages but the basic one (always included)', () => {
    const rows = [offer('basic', true), offer('elderly', false), offer('hypertension', true), offer('child', false)]
    expect(choosablePackages(rows).map((p) => p.code)).toEqual(['hypertension'])
  })
})
