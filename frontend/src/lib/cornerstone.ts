/**
 * Cornerstone3D set up once for the app: the rendering core, the tools, and the DICOM image
 * loader reading our `/dicom-web/` with the user's bearer token. Frames are asked for in their
 * stored transfer syntax (`transfer-syntax=*`, the loader's default) and decoded in the loader's
 * web workers by its WASM codecs (JPEG baseline/lossless, JPEG-LS, JPEG 2000, HTJ2K, RLE); a
 * server that answers Explicit VR Little Endian is read just as well.
 */
import { init as coreInit, metaData } from '@cornerstonejs/core'
import { init as dicomImageLoaderInit, wadors } from '@cornerstonejs/dicom-image-loader'
import {
  addTool, AngleTool, ArrowAnnotateTool, CrosshairsTool, EllipticalROITool, init as toolsInit,
  LengthTool, PanTool, RectangleROITool, StackScrollTool, WindowLevelTool, ZoomTool,
} from '@cornerstonejs/tools'
import { session } from './session'
import type { DicomJson } from './dicom'

let ready: Promise<void> | null = null

/** The tools the viewer offers (registered once). */
export const TOOLS = [
  WindowLevelTool, PanTool, ZoomTool, StackScrollTool, LengthTool, AngleTool,
  EllipticalROITool, RectangleROITool, ArrowAnnotateTool, CrosshairsTool,
]

/** Initialise Cornerstone3D once; later calls wait for the same start. */
export function ensureCornerstone(): Promise<void> {
  if (!ready) {
    ready = (async () => {
      coreInit()
      dicomImageLoaderInit({
        maxWebWorkers: Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)),
        beforeSend: (): Record<string, string> => (session.token ? { Authorization: `Bearer ${session.token}` } : {}),
      })
      toolsInit()
      for (const t of TOOLS) addTool(t)
    })()
  }
  return ready
}

/** Absolute DICOMweb root of this app (the loader needs a full URL). */
export function dicomWebRoot(): string {
  return `${location.origin}/dicom-web`
}

/** The wadors image id of one frame (1-based). */
export function frameImageId(study: string, series: string, sop: string, frame: number): string {
  return `wadors:${dicomWebRoot()}/studies/${study}/series/${series}/instances/${sop}/frames/${frame}`
}

/** Hand an instance's DICOM JSON to the loader for the image id of each of its frames. */
export function registerInstance(imageIds: string[], meta: DicomJson): void {
  for (const id of imageIds) wadors.metaDataManager.add(id, meta as never)
}

/** A metadata module of the loader for an image id (imagePlaneModule, voiLutModule …). */
export function moduleOf<R = Record<string, unknown>>(type: string, imageId: string): R | undefined {
  return metaData.get(type, imageId) as R | undefined
}
