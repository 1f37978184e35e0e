/**
 * DICOMweb for the viewer: DICOM JSON attributes, multipart frame responses, and the
 * window/level that turns stored pixel values into grey levels on the client.
 */
import { ApiError, toProblem } from './problem'
import { session } from './session'

export type DicomJson = Record<string, { vr: string; Value?: unknown[] }>

/** First value of a tag ("00280010") or undefined. */
export function tag<T = unknown>(item: DicomJson, key: string): T | undefined {
  return item[key]?.Value?.[0] as T | undefined
}
/** All values of a tag. */
export function tags<T = unknown>(item: DicomJson, key: string): T[] {
  return (item[key]?.Value ?? []) as T[]
}

export const T = {
  StudyUID: '0020000D',
  SeriesUID: '0020000E',
  SopUID: '00080018',
  Modality: '00080060',
  SeriesDescription: '0008103E',
  SeriesNumber: '00200011',
  InstanceNumber: '00200013',
  NumberOfFrames: '00280008',
  Rows: '00280010',
  Columns: '00280011',
  PixelSpacing: '00280030',
  BitsAllocated: '00280100',
  PixelRepresentation: '00280103',
  Photometric: '00280004',
  WindowCenter: '00281050',
  WindowWidth: '00281051',
  RescaleIntercept: '00281052',
  RescaleSlope: '00281053',
  ImagePosition: '00200032',
  NumberOfSeriesRelatedInstances: '00201209',
  SharedFunctionalGroups: '52009229',
  PerFrameFunctionalGroups: '52009230',
  PixelMeasures: '00289110',
} as const

export interface Preset {
  key: string
  center: number
  width: number
}

/** CT window presets (centre/width in Hounsfield units). */
export const CT_PRESETS: Preset[] = [
  { key: 'soft_tissue', center: 40, width: 400 },
  { key: 'lung', center: -600, width: 1500 },
  { key: 'bone', center: 480, width: 2500 },
  { key: 'brain', center: 40, width: 80 },
  { key: 'liver', center: 90, width: 150 },
]

export interface FrameInfo {
  rows: number
  columns: number
  bitsAllocated: number
  signed: boolean
  slope: number
  intercept: number
  invert: boolean
}

/** The pixel format of an instance from its metadata. */
export function frameInfo(meta: DicomJson): FrameInfo {
  return {
    rows: Number(tag(meta, T.Rows) ?? 0),
    columns: Number(tag(meta, T.Columns) ?? 0),
    bitsAllocated: Number(tag(meta, T.BitsAllocated) ?? 16),
    signed: Number(tag(meta, T.PixelRepresentation) ?? 0) === 1,
    slope: Number(tag(meta, T.RescaleSlope) ?? 1),
    intercept: Number(tag(meta, T.RescaleIntercept) ?? 0),
    invert: tag(meta, T.Photometric) === 'MONOCHROME1',
  }
}

/** Stored values of one raw little-endian frame. */
export function storedValues(bytes: Uint8Array, info: FrameInfo): ArrayLike<number> {
  const n = info.rows * info.columns
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  if (info.bitsAllocated === 8) return new Uint8Array(buf, 0, n)
  return info.signed ? new Int16Array(buf, 0, n) : new Uint16Array(buf, 0, n)
}

/** Linear VOI LUT (DICOM PS3.3 C.11.2.1.2): modality values to 0..255 grey as RGBA. */
export function applyWindow(
  stored: ArrayLike<number>,
  info: Pick<FrameInfo, 'slope' | 'intercept' | 'invert'>,
  center: number,
  width: number,
  out?: Uint8ClampedArray,
): Uint8ClampedArray {
  const rgba = out ?? new Uint8ClampedArray(stored.length * 4)
  const w = Math.max(1, width)
  const lo = center - 0.5 - (w - 1) / 2
  const hi = center - 0.5 + (w - 1) / 2
  for (let i = 0; i < stored.length; i++) {
    const v = stored[i] * info.slope + info.intercept
    let g: number
    if (v <= lo) g = 0
    else if (v > hi) g = 255
    else g = ((v - (center - 0.5)) / (w - 1) + 0.5) * 255
    if (info.invert) g = 255 - g
    const j = i * 4
    rgba[j] = rgba[j + 1] = rgba[j + 2] = g
    rgba[j + 3] = 255
  }
  return rgba
}

/** The parts of a multipart/related body. */
export function parseMultipart(body: Uint8Array, contentType: string): Uint8Array[] {
  const m = /boundary="?([^";]+)"?/i.exec(contentType)
  if (!m) return [body]
  const enc = new TextEncoder()
  const delim = enc.encode(`--${m[1]}`)
  const find = (from: number, needle: Uint8Array): number => {
    outer: for (let i = from; i <= body.length - needle.length; i++) {
      for (let k = 0; k < needle.length; k++) if (body[i + k] !== needle[k]) continue outer
      return i
    }
    return -1
  }
  const parts: Uint8Array[] = []
  const crlf2 = enc.encode('\r\n\r\n')
  let pos = find(0, delim)
  while (pos >= 0) {
    const after = pos + delim.length
    if (body[after] === 45 && body[after + 1] === 45) break // "--": the closing delimiter
    const headerEnd = find(after, crlf2)
    if (headerEnd < 0) break
    const start = headerEnd + 4
    const next = find(start, delim)
    if (next < 0) break
    let end = next
    if (body[end - 2] === 13 && body[end - 1] === 10) end -= 2
    parts.push(body.subarray(start, end))
    pos = next
  }
  return parts
}

/** GET under /dicom-web with the bearer token; ApiError on failure. */
export async function dicomFetch(path: string, accept: string): Promise<Response> {
  const res = await fetch(`/dicom-web${path}`, {
    headers: { Accept: accept, ...(session.token ? { Authorization: `Bearer ${session.token}` } : {}) },
  })
  if (!res.ok) {
    const text = await res.text()
    let body: unknown = null
    try {
      body = JSON.parse(text)
    } catch {
      body = null
    }
    throw new ApiError(toProblem(res.status, body, text))
  }
  return res
}

export async function dicomJson<R>(path: string): Promise<R> {
  return (await (await dicomFetch(path, 'application/dicom+json')).json()) as R
}

/** Raw pixel bytes of one frame (1-based). */
export async function fetchFrame(study: string, series: string, sop: string, frame: number): Promise<Uint8Array> {
  const res = await dicomFetch(
    `/studies/${study}/series/${series}/instances/${sop}/frames/${frame}`,
    'multipart/related; type="application/octet-stream"; transfer-syntax=*',
  )
  const body = new Uint8Array(await res.arrayBuffer())
  return parseMultipart(body, res.headers.get('content-type') ?? '')[0]
}

/** Order instances as a stack: by position along the normal when known, else instance number. */
export function stackOrder(a: DicomJson, b: DicomJson): number {
  const za = tags<number>(a, T.ImagePosition)[2]
  const zb = tags<number>(b, T.ImagePosition)[2]
  if (za !== undefined && zb !== undefined && za !== zb) return za - zb
  return Number(tag(a, T.InstanceNumber) ?? 0) - Number(tag(b, T.InstanceNumber) ?? 0)
}

/** Distance in millimetres between two image points, from PixelSpacing (row, column). */
export function lengthMm(p: [number, number], q: [number, number], spacing: number[] | undefined): number | null {
  if (!spacing || spacing.length < 2) return null
  const dx = (q[0] - p[0]) * Number(spacing[1])
  const dy = (q[1] - p[1]) * Number(spacing[0])
  return Math.hypot(dx, dy)
}

/**
 * PixelSpacing (row, column in mm) of a frame: the top-level attribute, else the pixel
 * measures of the enhanced multi-frame functional groups (per-frame first, then shared).
 */
export function pixelSpacing(meta: DicomJson, frame = 1): number[] | undefined {
  const top = tags<number>(meta, T.PixelSpacing)
  if (top.length >= 2) return top.map(Number)
  const fromGroup = (group: DicomJson | undefined): number[] | undefined => {
    const measures = group ? tag<DicomJson>(group, T.PixelMeasures) : undefined
    const v = measures ? tags<number>(measures, T.PixelSpacing) : []
    return v.length >= 2 ? v.map(Number) : undefined
  }
  const perFrame = tags<DicomJson>(meta, T.PerFrameFunctionalGroups)[frame - 1]
  return fromGroup(perFrame) ?? fromGroup(tag<DicomJson>(meta, T.SharedFunctionalGroups))
}

/** Number of frames of an instance (1 when absent). */
export function frameCount(meta: DicomJson): number {
  const n = Number(tag(meta, T.NumberOfFrames) ?? 1)
  return Number.isInteger(n) && n > 0 ? n : 1
}
