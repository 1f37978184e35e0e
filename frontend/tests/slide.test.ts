import { describe, expect, it } from 'vitest'
import type { DicomJson } from '../src/lib/dicom'
import { frameOf, imageZoomFor, magnification, scaleBar, slidePyramid, tileUrl, VL_WSI } from '../src/lib/slide'

const v = (vr: string, ...Value: unknown[]) => ({ vr, Value })

function level(sop: string, width: number, height: number, spacing: number, extra: DicomJson = {}): DicomJson {
  const frames = Math.ceil(width / 256) * Math.ceil(height / 256)
  return {
    '00080016': v('UI', VL_WSI),
    '00080018': v('UI', sop),
    '0020000E': v('UI', '1.2.3'),
    '00080008': v('CS', 'DERIVED', 'PRIMARY', 'VOLUME', 'RESAMPLED'),
    '00480006': v('UL', width),
    '00480007': v('UL', height),
    '00280010': v('US', 256),
    '00280011': v('US', 256),
    '00280008': v('IS', String(frames)),
    '00209311': v('CS', 'TILED_FULL'),
    '52009229': v('SQ', { '00289110': v('SQ', { '00280030': v('DS', spacing, spacing) }) }),
    ...extra,
  }
}

describe('slide pyramid', () => {
  const label = level('9', 500, 300, 0.01, { '00080008': v('CS', 'ORIGINAL', 'PRIMARY', 'LABEL', 'NONE') })
  const p = slidePyramid([level('2', 2048, 1536, 0.0005), label, level('1', 4096, 3072, 0.00025), level('3', 1024, 768, 0.001)])

  it('orders the levels base first and leaves label images out', () => {
    expect(p.levels.map((l) => [l.sop, l.cols, l.rows, l.frames])).toEqual([
      ['1', 16, 12, 192],
      ['2', 8, 6, 48],
      ['3', 4, 3, 12],
    ])
    expect(p.baseUm).toBeCloseTo(0.25)
  })

  it('numbers TILED_FULL tiles row-major from 1', () => {
    const base = p.levels[0]
    expect(frameOf(base, 0, 0)).toBe(1)
    expect(frameOf(base, 15, 0)).toBe(16)
    expect(frameOf(base, 0, 1)).toBe(17)
    expect(frameOf(base, 15, 11)).toBe(192)
    expect(frameOf(base, 16, 0)).toBeNull()
    expect(tileUrl('1.9', base, 17)).toBe('/dicom-web/studies/1.9/series/1.2.3/instances/1/frames/17/rendered')
  })

  it('finds TILED_SPARSE tiles by their plane positions', () => {
    const pos = (c: number, r: number) => ({ '0048021A': v('SQ', { '0048021E': v('SL', c), '0048021F': v('SL', r) }) })
    const sparse = slidePyramid([
      level('5', 1024, 512, 0.00025, {
        '00280008': v('IS', '2'),
        '00209311': v('CS', 'TILED_SPARSE'),
        '52009230': v('SQ', pos(769, 257), pos(1, 1)),
      }),
    ]).levels[0]
    expect(frameOf(sparse, 3, 1)).toBe(1)
    expect(frameOf(sparse, 0, 0)).toBe(2)
    expect(frameOf(sparse, 1, 0)).toBeNull()
  })

  it('takes the pixel spacing from the imaged volume when the functional groups lack it', () => {
    const m = level('7', 1000, 1000, 0)
    delete m['52009229']
    m['00480001'] = v('FL', 0.5) // mm
    expect(slidePyramid([m]).baseUm).toBeCloseTo(0.5)
  })
})

describe('magnification and scale bar', () => {
  it('is 40x at 0.25 um per screen pixel and zooms the base level 1:1 there', () => {
    expect(magnification(0.25)).toBeCloseTo(40)
    expect(imageZoomFor(40, 0.25)).toBeCloseTo(1)
    expect(imageZoomFor(20, 0.25)).toBeCloseTo(0.5)
  })

  it('picks a round length no longer than the limit', () => {
    expect(scaleBar(0.5, 160)).toEqual({ um: 50, px: 100, label: '50 µm' })
    expect(scaleBar(10, 160)).toEqual({ um: 1000, px: 100, label: '1 mm' })
    const b = scaleBar(3.7, 160)
    expect(b.px).toBeLessThanOrEqual(160)
    expect(b.um).toBe(500)
  })
})
