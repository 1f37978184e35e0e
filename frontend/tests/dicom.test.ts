import { describe, expect, it } from 'vitest'
import { applyWindow, CT_PRESETS, lengthMm, parseMultipart, stackOrder, storedValues } from '../src/lib/dicom'

describe('window/level', () => {
  const info = { slope: 1, intercept: -1024, invert: false }

  it('maps below the window to black, above to white, the centre to mid grey', () => {
    // stored 1024 + intercept -1024 = 0 HU; soft tissue window 40/400 spans -160..240
    const out = applyWindow([0, 1024 + 40, 4000], info, 40, 400)
    expect(out[0]).toBe(0)
    expect(out[4]).toBeGreaterThanOrEqual(127)
    expect(out[4]).toBeLessThanOrEqual(128)
    expect(out[8]).toBe(255)
    expect(out[3]).toBe(255)
  })

  it('inverts MONOCHROME1', () => {
    const out = applyWindow([0], { ...info, invert: true }, 40, 400)
    expect(out[0]).toBe(255)
  })

  it('has the five CT presets with the usual values', () => {
    const byKey = Object.fromEntries(CT_PRESETS.map((p) => [p.key, [p.width, p.center]]))
    expect(byKey).toEqual({
      soft_tissue: [400, 40],
      lung: [1500, -600],
      bone: [2500, 480],
      brain: [80, 40],
      liver: [150, 90],
    })
  })

  it('reads signed 16-bit little-endian frames', () => {
    const bytes = new Uint8Array([0xff, 0xff, 0x10, 0x00])
    const v = storedValues(bytes, { rows: 1, columns: 2, bitsAllocated: 16, signed: true, slope: 1, intercept: 0, invert: false })
    expect(Array.from(v)).toEqual([-1, 16])
  })
})

describe('multipart/related', () => {
  it('splits the parts of a frames response', () => {
    const enc = new TextEncoder()
    const body = enc.encode(
      '--b1\r\nContent-Type: application/octet-stream\r\n\r\nAB\r\n--b1\r\nContent-Type: application/octet-stream\r\n\r\nCD\r\n--b1--\r\n',
    )
    const parts = parseMultipart(body, 'multipart/related; type="application/octet-stream"; boundary=b1')
    expect(parts.map((p) => new TextDecoder().decode(p))).toEqual(['AB', 'CD'])
  })
})

describe('stack and measurement', () => {
  it('orders slices by position, then instance number', () => {
    const s = (z: number, n: number) => ({ '00200032': { vr: 'DS', Value: [0, 0, z] }, '00200013': { vr: 'IS', Value: [n] } })
    const rows = [s(10, 1), s(0, 3), s(5, 2)].sort(stackOrder)
    expect(rows.map((r) => r['00200013'].Value[0])).toEqual([3, 2, 1])
  })

  it('measures in millimetres with the pixel spacing', () => {
    expect(lengthMm([0, 0], [3, 4], [1, 1])).toBe(5)
    expect(lengthMm([0, 0], [10, 0], [0.5, 0.7])).toBeCloseTo(7)
    expect(lengthMm([0, 0], [1, 1], undefined)).toBeNull()
  })
})
