/**
 * The specialist's marks as the server's measurement JSON: Cornerstone3D annotations (world
 * coordinates, cached statistics) turned into image pixel points and values, and the key
 * images; saved to and loaded from `/api/v1/studies/{uid}/measurements` (stored there as
 * DICOM SR TID 1500 and Key Object Selection).
 */
import { utilities } from '@cornerstonejs/core'
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
