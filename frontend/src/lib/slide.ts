/**
 * Whole-slide images (DICOM VL Whole Slide Microscopy, PS3.3 A.32.8) for the slide viewer:
 * the pyramid from the instances' metadata, which frame holds a tile, the magnification and
 * the scale bar. Levels are the instances of one series with the same frame of reference,
 * each a total pixel matrix cut in tiles of Columns x Rows; TILED_FULL tiles are numbered
 * row-major from 1, TILED_SPARSE ones are found by their plane positions.
 */
import { tag, tags, T, type DicomJson } from './dicom'

export const VL_WSI = '1.2.840.10008.5.1.4.1.1.77.1.6'

const W = {
  SOPClass: '00080016',
  ImageType: '00080008',
  TotalColumns: '00480006',
  TotalRows: '00480007',
  DimensionOrganizationType: '00209311',
  ImagedVolumeWidth: '00480001',
  ImagedVolumeHeight: '00480002',
  PlanePositionSlide: '0048021A',
  ColumnPosition: '0048021E',
  RowPosition: '0048021F',
  OpticalPathSequence: '00480105',
  ObjectiveLensPower: '00480112',
} as const

export interface SlideLevel {
  series: string
  sop: string
  width: number // total pixel matrix
  height: number
  tileWidth: number
  tileHeight: number
  frames: number
  cols: number
  rows: number
  spacingMm: number | null // pixel spacing (column direction), mm
  /** (col,row) -> frame for TILED_SPARSE; null for TILED_FULL */
  sparse: Map<string, number> | null
}

export interface SlidePyramid {
  levels: SlideLevel[] // base (largest) first
  /** micrometres per base-level pixel */
  baseUm: number | null
}

type Item = Record<string, { vr: string; Value?: unknown[] }>

function first(item: DicomJson | Item | undefined, key: string): Item | undefined {
  return (item?.[key]?.Value?.[0] as Item | undefined) ?? undefined
}

function spacingOf(meta: DicomJson): number | null {
  const shared = first(meta, T.SharedFunctionalGroups)
  const measures = first(shared, T.PixelMeasures)
  const s = tags<number>((measures ?? {}) as DicomJson, T.PixelSpacing)
  if (s.length >= 2) return Number(s[1])
  const top = tags<number>(meta, T.PixelSpacing)
  if (top.length >= 2) return Number(top[1])
  const w = Number(tag(meta, W.ImagedVolumeWidth) ?? 0)
  const cols = Number(tag(meta, W.TotalColumns) ?? 0)
  return w > 0 && cols > 0 ? w / cols : null
}

function sparseIndex(meta: DicomJson, tw: number, th: number): Map<string, number> {
  const out = new Map<string, number>()
  const perFrame = (meta[T.PerFrameFunctionalGroups]?.Value ?? []) as Item[]
  perFrame.forEach((group, i) => {
    const pos = first(group, W.PlanePositionSlide)
    const c = Number(tag((pos ?? {}) as DicomJson, W.ColumnPosition) ?? 0) // 1-based
    const r = Number(tag((pos ?? {}) as DicomJson, W.RowPosition) ?? 0)
    if (c >= 1 && r >= 1) {
      const key = `${Math.floor((c - 1) / tw)},${Math.floor((r - 1) / th)}`
      if (!out.has(key)) out.set(key, i + 1)
    }
  })
  return out
}

/** Is this instance a pyramid level (not a label or overview image)? */
function isLevel(meta: DicomJson): boolean {
  if (tag(meta, W.SOPClass) !== VL_WSI) return false
  const type = tags<string>(meta, W.ImageType)
  return type.length < 3 || type[2] === 'VOLUME'
}

/** The pyramid of a series' instances (metadata of a WADO-RS series or study request). */
export function slidePyramid(instances: DicomJson[]): SlidePyramid {
  const levels: SlideLevel[] = instances.filter(isLevel).map((m) => {
    const width = Number(tag(m, W.TotalColumns) ?? tag(m, T.Columns) ?? 0)
    const height = Number(tag(m, W.TotalRows) ?? tag(m, T.Rows) ?? 0)
    const tileWidth = Number(tag(m, T.Columns) ?? 0)
    const tileHeight = Number(tag(m, T.Rows) ?? 0)
    const sparse = tag(m, W.DimensionOrganizationType) === 'TILED_SPARSE'
    return {
      series: String(tag(m, T.SeriesUID)),
      sop: String(tag(m, T.SopUID)),
      width,
      height,
      tileWidth,
      tileHeight,
      frames: Number(tag(m, T.NumberOfFrames) ?? 1),
      cols: Math.ceil(width / tileWidth),
      rows: Math.ceil(height / tileHeight),
      spacingMm: spacingOf(m),
      sparse: sparse ? sparseIndex(m, tileWidth, tileHeight) : null,
    }
  })
  // one level per size (a second focal plane or optical path of a size is not shown)
  const bySize = new Map<number, SlideLevel>()
  for (const l of levels) if (!bySize.has(l.width)) bySize.set(l.width, l)
  const sorted = [...bySize.values()].sort((a, b) => b.width - a.width)
  const base = sorted[0]
  return { levels: sorted, baseUm: base?.spacingMm ? base.spacingMm * 1000 : null }
}

/** 1-based frame of the tile at (col, row) of a level, or null where there is none. */
export function frameOf(level: SlideLevel, col: number, row: number): number | null {
  if (col < 0 || row < 0 || col >= level.cols || row >= level.rows) return null
  if (level.sparse) return level.sparse.get(`${col},${row}`) ?? null
  const n = row * level.cols + col + 1
  return n <= level.frames ? n : null
}

/** The WADO-RS URL of a tile rendered as JPEG (read with the user's token). */
export function tileUrl(study: string, level: SlideLevel, frame: number): string {
  return `/dicom-web/studies/${study}/series/${level.series}/instances/${level.sop}/frames/${frame}/rendered`
}

/**
 * Magnification by the convention of slide scanners: a 40x objective images 0.25 um per
 * pixel, so a screen pixel showing `umPerScreenPx` micrometres is 10 / umPerScreenPx x.
 */
export function magnification(umPerScreenPx: number): number {
  return 10 / umPerScreenPx
}

/** Base-level image pixels per screen pixel ("image zoom") that shows magnification `m`. */
export function imageZoomFor(m: number, baseUm: number): number {
  return (m * baseUm) / 10
}

/** A scale bar of a round length (1, 2 or 5 x 10^k um) no longer than `maxPx` screen pixels. */
export function scaleBar(umPerScreenPx: number, maxPx = 160): { um: number; px: number; label: string } {
  const maxUm = umPerScreenPx * maxPx
  const p = Math.pow(10, Math.floor(Math.log10(maxUm)))
  const um = [5, 2, 1].map((k) => k * p).find((v) => v <= maxUm) ?? p
  const label = um >= 1000 ? `${um / 1000} mm` : `${um} µm`
  return { um, px: um / umPerScreenPx, label }
}
