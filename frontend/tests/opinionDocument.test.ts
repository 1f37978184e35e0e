import { describe, expect, it } from 'vitest'
import { backingSize, canvasPoint, inkLength, isSignature } from '../src/lib/signaturePad'
import { consentBody, consentGaps, type ConsentDraft } from '../src/lib/consent'
import { diagnosisLabel, opinionToLoad } from '../src/lib/consultations'

describe('the signature pad', () => {
  it('maps a pointer to canvas pixels at the device pixel ratio', () => {
    const rect = { left: 10, top: 100, width: 300, height: 150 }
    expect(canvasPoint(160, 175, rect, 600, 300)).toEqual({ x: 300, y: 150 })
    expect(canvasPoint(10, 100, rect, 300, 150)).toEqual({ x: 0, y: 0 })
  })
  it('sizes the backing store as CSS size × ratio', () => {
    expect(backingSize(330, 180, 2)).toEqual({ width: 660, height: 360 })
    expect(backingSize(330, 180, 0)).toEqual({ width: 330, height: 180 })
  })
  it('counts ink, and a tap is not a signature', () => {
    const line = [{ x: 0, y: 0 }, { x: 30, y: 40 }]
    expect(inkLength([line])).toBe(50)
    expect(isSignature([[{ x: 5, y: 5 }]], 1)).toBe(false)
    expect(isSignature([line], 1)).toBe(true)
    expect(isSignature([line], 2)).toBe(false) // 50 device px = 25 CSS px at 2×
  })
})

describe('the consent', () => {
  const base: ConsentDraft = {
    agreed: true, given_by: ' 巴特尔 ', relationship: 'self', method: 'verbal',
    witness: '', signature_png: null, note: '',
  }
  it('asks a written consent for its witness and an on-screen one for the signature', () => {
    expect(consentGaps(base)).toEqual({})
    expect(consentGaps({ ...base, method: 'written' })).toEqual({ witness: 'consult.witnessRequired' })
    expect(consentGaps({ ...base, method: 'on_screen' })).toEqual({ signature_png: 'consult.signatureRequired' })
    expect(consentGaps({ ...base, method: 'on_screen', signature_png: 'data:image/png;base64,AA' })).toEqual({})
  })
  it('sends only what the method carries', () => {
    const at = new Date('2026-12-03T08:00:00Z')
    expect(consentBody(base, at)).toEqual({
      given_by: '巴特尔', relationship: 'self', method: 'verbal', given_at: '2026-12-03T08:00:00.000Z', note: '',
    })
    expect(consentBody({ ...base, method: 'written', witness: ' 李梅 ', signature_png: 'x' }, at)).toMatchObject({ witness: '李梅' })
    expect(consentBody({ ...base, method: 'written', witness: '李梅' }, at)).not.toHaveProperty('signature_png')
    expect(consentBody({ ...base, method: 'on_screen', signature_png: 'data:x' }, at)).toMatchObject({ signature_png: 'data:x' })
  })
})

describe('the opinion on the page', () => {
  it('shows a diagnosis as code and name in the page language', () => {
    const d = { code: 'I10', name_zh: '特发性（原发性）高血压', name_en: 'Essential (primary) hypertension' }
    expect(diagnosisLabel(d, true)).toBe('I10 特发性（原发性）高血压')
    expect(diagnosisLabel(d, false)).toBe('I10 Essential (primary) hypertension')
    expect(diagnosisLabel({ code: 'X99', name_zh: '', name_en: '' }, true)).toBe('X99')
  })
  it('asks only for an opinion that exists', () => {
    expect(opinionToLoad({ state: 'submitted', allowed_actions: ['cancel'] })).toBeNull()
    expect(opinionToLoad({ state: 'accepted', allowed_actions: ['report', 'decline'] })).toBe('draft')
    expect(opinionToLoad({ state: 'reported', allowed_actions: ['close'], reported_at: '2026-12-03T08:00:00Z' })).toBe('signed')
    expect(opinionToLoad({ state: 'closed', allowed_actions: [] })).toBe('signed')
  })
})
