/**
 * The viewer's view transform: how an image of `image` size is drawn into a canvas of
 * `canvas` size at a zoom factor and a pan offset. The image is fitted (aspect kept) and
 * centred at zoom 1, pan 0; zoom multiplies the fitted scale, pan moves the image in canvas
 * pixels. Measurements are kept in image pixels, so their length in mm does not depend on
 * zoom or pan.
 */

export interface Size {
  width: number
  height: number
}
export interface ViewState {
  zoom: number
  panX: number
  panY: number
}
/** canvas = image * scale + (x, y) */
export interface Transform {
  scale: number
  x: number
  y: number
}
export type Point = [number, number]

export const ZOOM_MIN = 0.2
export const ZOOM_MAX = 20
export const ZOOM_STEP = 1.2
export const PAN_STEP = 20

export function clampZoom(zoom: number): number {
  return Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, zoom))
}

/** Scale that fits the whole image into the canvas. */
export function fitScale(canvas: Size, image: Size): number {
  if (!image.width || !image.height) return 1
  return Math.min(canvas.width / image.width, canvas.height / image.height)
}

export function viewTransform(canvas: Size, image: Size, view: ViewState): Transform {
  const scale = fitScale(canvas, image) * view.zoom
  return {
    scale,
    x: (canvas.width - image.width * scale) / 2 + view.panX,
    y: (canvas.height - image.height * scale) / 2 + view.panY,
  }
}

/** Canvas pixel -> image pixel (fractional). */
export function toImage(t: Transform, p: Point): Point {
  return [(p[0] - t.x) / t.scale, (p[1] - t.y) / t.scale]
}

/** Image pixel -> canvas pixel. */
export function toCanvas(t: Transform, p: Point): Point {
  return [p[0] * t.scale + t.x, p[1] * t.scale + t.y]
}

/**
 * A CSS pixel of an event inside an element's box -> canvas pixel (the canvas' backing
 * store may differ from its CSS size).
 */
export function clientToCanvas(
  client: Point,
  box: { left: number; top: number; width: number; height: number },
  canvas: Size,
): Point {
  return [
    ((client[0] - box.left) * canvas.width) / (box.width || 1),
    ((client[1] - box.top) * canvas.height) / (box.height || 1),
  ]
}

/**
 * Zoom by `factor` keeping the image point under `anchor` (a canvas pixel; default the
 * canvas centre) where it is. The zoom is clamped to [ZOOM_MIN, ZOOM_MAX].
 */
export function zoomAt(canvas: Size, image: Size, view: ViewState, factor: number, anchor?: Point): ViewState {
  const at: Point = anchor ?? [canvas.width / 2, canvas.height / 2]
  const before = viewTransform(canvas, image, view)
  const p = toImage(before, at)
  const zoom = clampZoom(view.zoom * factor)
  const scale = fitScale(canvas, image) * zoom
  const x = at[0] - p[0] * scale
  const y = at[1] - p[1] * scale
  return {
    zoom,
    panX: x - (canvas.width - image.width * scale) / 2,
    panY: y - (canvas.height - image.height * scale) / 2,
  }
}

export function panBy(view: ViewState, dx: number, dy: number): ViewState {
  return { zoom: view.zoom, panX: view.panX + dx, panY: view.panY + dy }
}

export const IDENTITY_VIEW: ViewState = Object.freeze({ zoom: 1, panX: 0, panY: 0 })
