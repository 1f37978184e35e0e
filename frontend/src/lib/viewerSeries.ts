/**
 * What the reading workstation needs from DICOM JSON: a series as a stack of frame image ids,
 * the context the overlay shows, orientation letters of the screen edges, and a patient's age.
 */
import { dicomJson, frameCount, stackOrder, T, tag, tags, type DicomJson } from './dicom'
import { frameImageId, registerInstance } from './cornerstone'

export interface SeriesStack {
  uid: string
  imageIds: string[]
  /** the instance behind each image id */
  metas: DicomJson[]
  /** 1-based frame number of each image id */
  frames: number[]
  modality: string
  /** CT/MR with enough parallel slices for a volume (MPR) */
  volumetric: boolean
}

export const C = {
  PatientName: '00100010',
  PatientID: '00100020',
  BirthDate: '00100030',
  Sex: '00100040',
  Age: '00101010',
  StudyDate: '00080020',
  StudyDescription: '00081030',
  SliceLocation: '00201041',
  SliceThickness: '00180050',
  BodyPart: '00180015',
  Orientation: '00200037',
} as const

/** Series of documents, not images (SR, key objects, presentation states, encapsulated
 * documents): kept out of the stacks; the marks they hold come back through the measurements
 * route. */
const DOCUMENT_MODALITIES = new Set(['SR', 'KO', 'PR', 'DOC'])

export function isImageSeries(modality: string): boolean {
  return !DOCUMENT_MODALITIES.has(modality.trim().toUpperCase())
}

/** Load a series' metadata, order it as a stack and register every frame with the loader. */
export async function loadSeriesStack(study: string, series: string): Promise<SeriesStack> {
  const meta = await dicomJson<DicomJson[]>(`/studies/${study}/series/${series}/metadata`)
  const imageIds: string[] = []
  const metas: DicomJson[] = []
  const frames: number[] = []
  for (const m of [...meta].sort(stackOrder)) {
    const sop = String(tag(m, T.SopUID))
    const n = frameCount(m)
    const ids: string[] = []
    for (let f = 1; f <= n; f++) {
      ids.push(frameImageId(study, series, sop, f))
      metas.push(m)
      frames.push(f)
    }
    registerInstance(ids, m)
    imageIds.push(...ids)
  }
  const modality = String(tag(meta[0] ?? {}, T.Modality) ?? '')
  const single = meta.every((m) => frameCount(m) === 1)
  const volumetric = (modality === 'CT' || modality === 'MR') && single && meta.length >= 3 && parallel(meta)
  return { uid: series, imageIds, metas, frames, modality, volumetric }
}

/** Every slice has the same orientation (a volume can be built from them). */
function parallel(meta: DicomJson[]): boolean {
  const first = tags<number>(meta[0], C.Orientation).join(',')
  return first !== '' && meta.every((m) => tags<number>(m, C.Orientation).join(',') === first)
}

/** A DICOM PN as text: the alphabetic group, ^ as space. */
export function personName(m: DicomJson | undefined): string {
  const v = m ? (tag<{ Alphabetic?: string } | string>(m, C.PatientName) ?? '') : ''
  const s = typeof v === 'string' ? v : (v.Alphabetic ?? '')
  return s.replace(/\^+/g, ' ').trim()
}

/** YYYYMMDD as YYYY-MM-DD (empty when absent). */
export function dicomDate(v: unknown): string {
  const s = String(v ?? '')
  return /^\d{8}$/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}` : s
}

/** Age in years on the study date: PatientAge when given, else from the birth date. */
export function ageYears(m: DicomJson | undefined): number | null {
  if (!m) return null
  const age = String(tag(m, C.Age) ?? '')
  const am = /^(\d{3})Y$/.exec(age)
  if (am) return Number(am[1])
  const birth = dicomDate(tag(m, C.BirthDate))
  const on = dicomDate(tag(m, C.StudyDate))
  if (!/^\d{4}-\d\d-\d\d$/.test(birth) || !/^\d{4}-\d\d-\d\d$/.test(on)) return null
  let years = Number(on.slice(0, 4)) - Number(birth.slice(0, 4))
  if (on.slice(5) < birth.slice(5)) years--
  return years
}

type Vec = [number, number, number]

/** The patient direction (LPS letters, strongest first) of a direction in patient space. */
export function directionLetters(v: Vec): string {
  const names: [string, string][] = [['L', 'R'], ['P', 'A'], ['S', 'I']]
  return [0, 1, 2]
    .filter((i) => Math.abs(v[i]) > 0.25)
    .sort((a, b) => Math.abs(v[b]) - Math.abs(v[a]))
    .map((i) => (v[i] > 0 ? names[i][0] : names[i][1]))
    .join('')
}

function cross(a: Vec, b: Vec): Vec {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/** Letters at the top, right, bottom and left edges of a view from its camera. */
export function orientationMarkers(viewUp: Vec, viewPlaneNormal: Vec): { top: string; right: string; bottom: string; left: string } {
  const right = cross(viewUp, viewPlaneNormal)
  const neg = (v: Vec): Vec => [-v[0], -v[1], -v[2]]
  return {
    top: directionLetters(viewUp),
    bottom: directionLetters(neg(viewUp)),
    right: directionLetters(right),
    left: directionLetters(neg(right)),
  }
}
