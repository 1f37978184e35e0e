/**
 * The specialist's marks as the server's measurement JSON: Cornerstone3D annotations (world
 * coordinates, cached statistics) turned into image pixel points and values, and the key
 * images; saved to and loaded from `/api/v1/studies/{uid}/measurements` (stored there as
 * DICOM SR TID 1500 and Key Object Selection), and back: a saved set redrawn as annotations
 * on the images it was measured on.
 */
import { metaData, utilities } from '@cornerstonejs/core'
import { annotation as csAnnotation } from '@cornerstonejs/tools'
import { client, ok, type Schemas } from './api'

export type MeasurementKind = 'length' | 'angle' | 'ellipse_roi' | 'rectangle_roi' | 'arrow'

export interface Measurement {
  kind: MeasurementKind
  series_uid: string
  sop_instance_uid: string
  frame: number
  points: [number, number][]
  /** absent for arrows */
  value?: number
  unit?: 'mm' | 'deg' | 'HU'
  mean?: number
  sd?: number
  area_mm2?: number
  label?: string
}

export type KeyImage = Schemas['KeyImageIn']

export interface MeasurementSet {
  measurements: Measurement[]
  key_images: KeyImage[]
}

const KIND: Record<string, MeasurementKind> = {
  Length: 'length',
  Angle: 'angle',
  EllipticalROI: 'ellipse_roi',
  RectangleROI: 'rectangle_roi',
  ArrowAnnotate: 'arrow',
}

/** Series, instance and frame of a wadors image id (…/series/S/instances/I/frames/F). */
export function parseImageId(imageId: string): { series: string; sop: string; frame: number } | null {
  const m = /\/series\/([^/]+)\/instances\/([^/]+)\/frames\/(\d+)/.exec(imageId)
  return m ? { series: m[1], sop: m[2], frame: Number(m[3]) } : null
}

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d

interface Stats { length?: number; angle?: number | string; mean?: number; stdDev?: number; area?: number }

type P = [number, number]
const dist = (a: P, b: P) => Math.hypot(a[0] - b[0], a[1] - b[1])

/**
 * Cornerstone's handle order as the SR's: an ellipse's major axis ends then its minor axis
 * ends (Cornerstone keeps top, bottom, left, right), a rectangle's corners in drawing order
 * (Cornerstone keeps top-left, top-right, bottom-left, bottom-right), an arrow tail then tip
 * (Cornerstone's first handle is the tip).
 */
export function scoordOrder(kind: MeasurementKind, p: P[]): P[] {
  if (kind === 'ellipse_roi' && p.length === 4) return dist(p[0], p[1]) >= dist(p[2], p[3]) ? p : [p[2], p[3], p[0], p[1]]
  if (kind === 'rectangle_roi' && p.length === 4) return [p[0], p[1], p[3], p[2]]
  if (kind === 'arrow' && p.length === 2) return [p[1], p[0]]
  return p
}

/** The inverse of `scoordOrder`: SR points in Cornerstone's handle order. */
export function handleOrder(kind: MeasurementKind, p: P[]): P[] {
  if (kind === 'ellipse_roi' && p.length === 4) {
    const vertical = Math.abs(p[0][1] - p[1][1]) >= Math.abs(p[2][1] - p[3][1])
    const [v1, v2, h1, h2] = vertical ? p : [p[2], p[3], p[0], p[1]]
    return [...(v1[1] <= v2[1] ? [v1, v2] : [v2, v1]), ...(h1[0] <= h2[0] ? [h1, h2] : [h2, h1])]
  }
  if (kind === 'rectangle_roi' && p.length === 4) return [p[0], p[1], p[3], p[2]]
  if (kind === 'arrow' && p.length === 2) return [p[1], p[0]]
  return p
}

const TOOL_OF: Record<MeasurementKind, string> = Object.fromEntries(Object.entries(KIND).map(([t, k]) => [k, t])) as Record<MeasurementKind, string>

/** The statistics a tool caches, from a saved measurement (recomputed when drawn). */
function savedStats(m: Measurement): Stats & Record<string, unknown> {
  if (m.kind === 'length') return { length: m.value, unit: 'mm' }
  if (m.kind === 'angle') return { angle: m.value }
  if (m.kind === 'ellipse_roi' || m.kind === 'rectangle_roi') {
    return { mean: m.mean ?? m.value, stdDev: m.sd, area: m.area_mm2, modalityUnit: 'HU', areaUnit: 'mm²' }
  }
  return {}
}

interface PlaneModule { frameOfReferenceUID?: string; rowCosines?: number[]; columnCosines?: number[] }

/** A saved measurement as a Cornerstone annotation on `imageId` (world coordinates). */
export function toAnnotation(m: Measurement, imageId: string): Record<string, unknown> {
  const plane = (metaData.get('imagePlaneModule', imageId) ?? {}) as PlaneModule
  const row = plane.rowCosines ?? [1, 0, 0]
  const col = plane.columnCosines ?? [0, 1, 0]
  const normal = [row[1] * col[2] - row[2] * col[1], row[2] * col[0] - row[0] * col[2], row[0] * col[1] - row[1] * col[0]]
  const points = handleOrder(m.kind, m.points).map((p) => utilities.imageToWorldCoords(imageId, p) as [number, number, number])
  const stats = savedStats(m)
  return {
    highlighted: false,
    invalidated: true,
    isLocked: false,
    isVisible: true,
    metadata: {
      toolName: TOOL_OF[m.kind],
      referencedImageId: imageId,
      FrameOfReferenceUID: plane.frameOfReferenceUID,
      viewPlaneNormal: normal,
      viewUp: col.map((v) => -v),
    },
    data: {
      handles: {
        points,
        activeHandleIndex: null,
        ...(m.kind === 'arrow' ? { arrowFirst: true } : {}),
        textBox: {
          hasMoved: false,
          worldPosition: [0, 0, 0],
          worldBoundingBox: { topLeft: [0, 0, 0], topRight: [0, 0, 0], bottomLeft: [0, 0, 0], bottomRight: [0, 0, 0] },
        },
      },
      cachedStats: Object.keys(stats).length ? { [`imageId:${imageId}`]: stats } : {},
      label: '',
      ...(m.kind === 'arrow' ? { text: m.label ?? '' } : {}),
    },
  }
}

/**
 * Draw saved measurements again: each on the image it was measured on (`imageIdOf` finds the
 * image id of its series, instance and frame; one not found is skipped). Returns how many.
 */
export function restoreMeasurements(items: Measurement[], imageIdOf: (m: Measurement) => string | undefined): number {
  let n = 0
  for (const m of items) {
    const imageId = imageIdOf(m)
    if (!imageId || !TOOL_OF[m.kind]) continue
    const ann = toAnnotation(m, imageId)
    const frame = (ann.metadata as { FrameOfReferenceUID?: string }).FrameOfReferenceUID
    csAnnotation.state.addAnnotation(ann as never, frame ?? '')
    n++
  }
  return n
}

/** Forget every annotation of this page (a study's marks stay with its viewer). */
export function clearMeasurements(): void {
  csAnnotation.state.removeAllAnnotations()
}

/** One annotation as a measurement, or null when it is not complete (no value yet). */
export function toMeasurement(a: unknown): Measurement | null {
  const ann = a as unknown as {
    metadata: { toolName: string; referencedImageId?: string }
    data: { handles: { points: [number, number, number][] }; cachedStats?: Record<string, Stats>; text?: string; label?: string }
  }
  const kind = KIND[ann.metadata?.toolName]
  const imageId = ann.metadata?.referencedImageId
  const ref = imageId ? parseImageId(imageId) : null
  if (!kind || !imageId || !ref) return null
  // worldToImageCoords puts (0, 0) at the top-left corner of the top-left pixel: DICOM SCOORD
  const image = ann.data.handles.points.map((p) => {
    const [x, y] = utilities.worldToImageCoords(imageId, p) ?? [NaN, NaN]
    return [round(x), round(y)] as [number, number]
  })
  const points = scoordOrder(kind, image)
  const stats: Stats = Object.values(ann.data.cachedStats ?? {})[0] ?? {}
  const base = { kind, series_uid: ref.series, sop_instance_uid: ref.sop, frame: ref.frame, points }
  if (kind === 'length' && typeof stats.length === 'number') return { ...base, value: round(stats.length), unit: 'mm' }
  if (kind === 'angle' && typeof stats.angle === 'number') return { ...base, value: round(stats.angle), unit: 'deg' }
  if ((kind === 'ellipse_roi' || kind === 'rectangle_roi') && typeof stats.mean === 'number') {
    return {
      ...base, value: round(stats.mean), unit: 'HU', mean: round(stats.mean), sd: round(stats.stdDev ?? 0),
      area_mm2: round(stats.area ?? 0),
    }
  }
  if (kind === 'arrow') return { ...base, label: (ann.data.text ?? '').slice(0, 64) }
  return null
}

/** Every complete measurement drawn in this page. */
export function currentMeasurements(): Measurement[] {
  return csAnnotation.state
    .getAllAnnotations()
    .map((a) => toMeasurement(a))
    .filter((m): m is Measurement => m !== null)
}

/** The saved set as the server answers (`MeasurementsOut`: also the SR and KOS it wrote). */
export type SavedMeasurements = Awaited<ReturnType<typeof loadMeasurements>>

export function saveMeasurements(study: string, set: MeasurementSet) {
  return ok(client.POST('/api/v1/studies/{study_uid}/measurements', { params: { path: { study_uid: study } }, body: set }))
}

export function loadMeasurements(study: string) {
  return ok(client.GET('/api/v1/studies/{study_uid}/measurements', { params: { path: { study_uid: study } } }))
}
