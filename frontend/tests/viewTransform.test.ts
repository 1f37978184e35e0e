import { describe, expect, it } from 'vitest'
import { frameCount, lengthMm, pixelSpacing, type DicomJson } from '../src/lib/dicom'
import {
  clampZoom, clientToCanvas, fitScale, IDENTITY_VIEW, panBy, toCanvas, toImage, viewTransform,
  ZOOM_MAX, ZOOM_MIN, zoomAt, type Point,
} from '../src/lib/viewTransform'

const canvas = { width: 800, height: 600 }
const image = { width: 512, height: 512 }

function close(p: Point, q: Point) {
  expect(p[0]).toBeCloseTo(q[0], 9)
  expect(p[1]).toBeCloseTo(q[1], 9)
}

describe('view transform', () => {
  it('fits and centres the image at zoom 1, pan 0', () => {
    expect(fitScale(canvas, image)).toBeCloseTo(600 / 512)
    const t = viewTransform(canvas, image, IDENTITY_VIEW)
    close(toCanvas(t, [256, 256]), [400, 300])
    close(toCanvas(t, [0, 0]), [100, 0])
    close(toImage(t, [400, 300]), [256, 256])
  })

  it('screen -> image -> screen is the identity under any zoom and pan', () => {
    for (const view of [IDENTITY_VIEW, { zoom: 3.7, panX: -120, panY: 45 }, { zoom: 0.25, panX: 13, panY: -8 }]) {
      const t = viewTransform(canvas, image, view)
      for (const p of [[0, 0], [799, 599], [123.5, 456.25]] as Point[]) close(toCanvas(t, toImage(t, p)), p)
    }
  })

  it('pans in canvas pixels', () => {
    const t0 = viewTransform(canvas, image, IDENTITY_VIEW)
    const t1 = viewTransform(canvas, image, panBy(IDENTITY_VIEW, 30, -10))
    const [x0, y0] = toCanvas(t0, [100, 100])
    close(toCanvas(t1, [100, 100]), [x0 + 30, y0 - 10])
  })

  it('zooms about the centre by default and keeps the anchor point fixed', () => {
    const centre = zoomAt(canvas, image, IDENTITY_VIEW, 2)
    expect(centre.zoom).toBe(2)
    close(toImage(viewTransform(canvas, image, centre), [400, 300]), [256, 256])

    const start = { zoom: 1.5, panX: 40, panY: -20 }
    const anchor: Point = [612, 123]
    const before = toImage(viewTransform(canvas, image, start), anchor)
    const after = zoomAt(canvas, image, start, 1.2, anchor)
    close(toImage(viewTransform(canvas, image, after), anchor), before)
    // zooming in and back out returns to the same view
    const back = zoomAt(canvas, image, after, 1 / 1.2, anchor)
    expect(back.zoom).toBeCloseTo(start.zoom)
    expect(back.panX).toBeCloseTo(start.panX)
    expect(back.panY).toBeCloseTo(start.panY)
  })

  it('clamps the zoom', () => {
    expect(clampZoom(100)).toBe(ZOOM_MAX)
    expect(clampZoom(0.001)).toBe(ZOOM_MIN)
    expect(zoomAt(canvas, image, { zoom: ZOOM_MAX, panX: 0, panY: 0 }, 2).zoom).toBe(ZOOM_MAX)
  })

  it('maps client pixels onto a canvas whose CSS size differs from its backing store', () => {
    const box = { left: 10, top: 20, width: 400, height: 300 }
    close(clientToCanvas([210, 170], box, canvas), [400, 300])
    close(clientToCanvas([10, 20], box, canvas), [0, 0])
  })
})

describe('measurement under zoom and pan', () => {
  const spacing = [0.5, 0.8] // row spacing (y), column spacing (x), mm

  function measure(view: { zoom: number; panX: number; panY: number }, a: Point, b: Point): number {
    const t = viewTransform(canvas, image, view)
    return lengthMm(toImage(t, a), toImage(t, b), spacing)!
  }

  it('the same image points measure the same mm at any zoom and pan', () => {
    const a: Point = [100, 200]
    const b: Point = [400, 360]
    const views = [IDENTITY_VIEW, { zoom: 4, panX: -300, panY: 120 }, { zoom: 0.5, panX: 10, panY: 10 }]
    const mm = views.map((v) => {
      const t = viewTransform(canvas, image, v)
      return measure(v, toCanvas(t, a), toCanvas(t, b))
    })
    const expected = Math.hypot(300 * 0.8, 160 * 0.5)
    for (const m of mm) expect(m).toBeCloseTo(expected, 9)
  })

  it('a fixed screen distance measures less when zoomed in', () => {
    const a: Point = [300, 300]
    const b: Point = [500, 300]
    const at1 = measure(IDENTITY_VIEW, a, b)
    const at2 = measure(zoomAt(canvas, image, IDENTITY_VIEW, 2), a, b)
    expect(at1).toBeCloseTo((200 / (600 / 512)) * 0.8, 9)
    expect(at2).toBeCloseTo(at1 / 2, 9)
    // panning does not change a length
    expect(measure({ zoom: 2, panX: 77, panY: -33 }, a, b)).toBeCloseTo(at2, 9)
  })
})

describe('multi-frame metadata', () => {
  const seq = (item: DicomJson) => ({ vr: 'SQ', Value: [item] })
  it('reads PixelSpacing from the functional groups of an enhanced multi-frame image', () => {
    const shared: DicomJson = { '00289110': seq({ '00280030': { vr: 'DS', Value: [0.7, 0.6] } }) }
    const meta: DicomJson = { '52009229': seq(shared), '00280008': { vr: 'IS', Value: [24] } }
    expect(pixelSpacing(meta, 3)).toEqual([0.7, 0.6])
    expect(frameCount(meta)).toBe(24)
    const perFrame: DicomJson = {
      ...meta,
      '52009230': { vr: 'SQ', Value: [{}, { '00289110': seq({ '00280030': { vr: 'DS', Value: [0.3, 0.3] } }) }] },
    }
    expect(pixelSpacing(perFrame, 2)).toEqual([0.3, 0.3])
    expect(pixelSpacing(perFrame, 1)).toEqual([0.7, 0.6])
  })
  it('prefers the top-level PixelSpacing and counts one frame when NumberOfFrames is absent', () => {
    const meta: DicomJson = { '00280030': { vr: 'DS', Value: ['0.5', '0.5'] } }
    expect(pixelSpacing(meta)).toEqual([0.5, 0.5])
    expect(frameCount(meta)).toBe(1)
    expect(pixelSpacing({})).toBeUndefined()
  })
})
