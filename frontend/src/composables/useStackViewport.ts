/**
 * One series of a study as a stack on a canvas: raw frames from WADO-RS windowed here (so
 * presets need no round trip), stack scroll (wheel, keys), window/level (drag, presets),
 * zoom/pan and a length measurement. The viewer page puts the series list around it.
 */
import { computed, reactive, ref, shallowRef, watch, type Ref } from 'vue'
import {
  applyWindow, dicomJson, fetchFrame, frameCount, frameInfo, lengthMm, pixelSpacing, stackOrder,
  storedValues, T, tag, type DicomJson, type FrameInfo,
} from '../lib/dicom'
import {
  clientToCanvas, IDENTITY_VIEW, PAN_STEP, panBy, toImage as canvasToImage, viewTransform,
  ZOOM_STEP, zoomAt, type Point,
} from '../lib/viewTransform'
import type { ShowsErrors } from './useAction'

export interface Slice {
  meta: DicomJson
  sop: string
  frame: number
  frames: number
}
type Tool = 'wl' | 'pan' | 'measure'

export function useStackViewport(study: Ref<string>, errors: ShowsErrors & { clear(): void }) {
  const canvas = ref<HTMLCanvasElement | null>(null)
  const current = ref('')
  const stack = shallowRef<Slice[]>([])
  const index = ref(0)
  const loading = ref(false)
  const view = reactive({ center: 40, width: 400, zoom: 1, panX: 0, panY: 0 })
  const tool = ref<Tool>('wl')
  const measure = ref<{ a: [number, number]; b: [number, number] } | null>(null)
  const frames = new Map<string, Uint8Array>()
  const image = document.createElement('canvas')
  let info: FrameInfo | null = null
  let stored: ArrayLike<number> | null = null
  let drawn = 0

  const slice = computed(() => stack.value[index.value])
  const spacing = computed(() => (slice.value ? pixelSpacing(slice.value.meta, slice.value.frame) : undefined))
  const zoomPct = computed(() => Math.round(view.zoom * 100))
  const measuredMm = computed(() => {
    if (!measure.value) return null
    const mm = lengthMm(measure.value.a, measure.value.b, spacing.value)
    return mm === null ? null : mm.toFixed(1)
  })

  async function openSeries(uid: string) {
    errors.clear()
    current.value = uid
    measure.value = null
    const meta = await dicomJson<DicomJson[]>(`/studies/${study.value}/series/${uid}/metadata`)
    const slices: Slice[] = []
    for (const m of [...meta].sort(stackOrder)) {
      const n = frameCount(m)
      for (let f = 1; f <= n; f++) slices.push({ meta: m, sop: String(tag(m, T.SopUID)), frame: f, frames: n })
    }
    stack.value = slices
    index.value = Math.floor(slices.length / 2)
    const first = slices[0]?.meta
    if (first) {
      const c = tag<number>(first, T.WindowCenter)
      const w = tag<number>(first, T.WindowWidth)
      view.center = c !== undefined ? Number(c) : 40
      view.width = w !== undefined ? Number(w) : 400
    }
    resetView()
    await showSlice()
  }

  async function showSlice() {
    const s = slice.value
    if (!s) return
    const key = `${s.sop}/${s.frame}`
    loading.value = !frames.has(key)
    try {
      let bytes = frames.get(key)
      if (!bytes) {
        bytes = await fetchFrame(study.value, current.value, s.sop, s.frame)
        frames.set(key, bytes)
      }
      if (slice.value !== s) return
      info = frameInfo(s.meta)
      stored = storedValues(bytes, info)
      renderImage()
    } catch (e) {
      errors.show(e)
    } finally {
      loading.value = false
    }
  }

  /** Window the stored values into the off-screen image, then paint. */
  function renderImage() {
    if (!info || !stored) return
    image.width = info.columns
    image.height = info.rows
    const ctx = image.getContext('2d')!
    const data = ctx.createImageData(info.columns, info.rows)
    applyWindow(stored, info, view.center, view.width, data.data)
    ctx.putImageData(data, 0, 0)
    paint()
  }

  function transform() {
    const c = canvas.value!
    return viewTransform(c, image, view)
  }

  function paint() {
    const c = canvas.value
    if (!c) return
    const ctx = c.getContext('2d')!
    ctx.setTransform(1, 0, 0, 1, 0, 0)
    ctx.fillStyle = '#000'
    ctx.fillRect(0, 0, c.width, c.height)
    if (!image.width) return
    const { scale: s, x, y } = transform()
    ctx.imageSmoothingEnabled = s < 1
    ctx.setTransform(s, 0, 0, s, x, y)
    ctx.drawImage(image, 0, 0)
    if (measure.value) {
      ctx.strokeStyle = '#ffd400'
      ctx.lineWidth = 2 / s
      ctx.beginPath()
      ctx.moveTo(...measure.value.a)
      ctx.lineTo(...measure.value.b)
      ctx.stroke()
    }
    drawn++
  }

  /** The canvas pixel under a pointer event. */
  function eventPoint(ev: MouseEvent): Point {
    const c = canvas.value!
    return clientToCanvas([ev.clientX, ev.clientY], c.getBoundingClientRect(), c)
  }

  /** Image pixel under a pointer event. */
  function toImage(ev: MouseEvent): Point {
    return canvasToImage(transform(), eventPoint(ev))
  }

  function step(delta: number) {
    const n = Math.min(stack.value.length - 1, Math.max(0, index.value + delta))
    if (n !== index.value) index.value = n
  }

  function onWheel(ev: WheelEvent) {
    ev.preventDefault()
    if (ev.ctrlKey || ev.metaKey) zoom(ev.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, eventPoint(ev))
    else step(ev.deltaY > 0 ? 1 : -1)
  }

  function onKey(ev: KeyboardEvent) {
    if (ev.shiftKey && ev.key.startsWith('Arrow')) {
      const d: Record<string, [number, number]> = {
        ArrowLeft: [-PAN_STEP, 0],
        ArrowRight: [PAN_STEP, 0],
        ArrowUp: [0, -PAN_STEP],
        ArrowDown: [0, PAN_STEP],
      }
      ev.preventDefault()
      pan(...d[ev.key])
      return
    }
    const keys: Record<string, () => void> = {
      ArrowDown: () => step(1),
      ArrowRight: () => step(1),
      PageDown: () => step(10),
      ArrowUp: () => step(-1),
      ArrowLeft: () => step(-1),
      PageUp: () => step(-10),
      Home: () => (index.value = 0),
      End: () => (index.value = stack.value.length - 1),
      '+': () => zoom(ZOOM_STEP),
      '=': () => zoom(ZOOM_STEP),
      '-': () => zoom(1 / ZOOM_STEP),
      '0': resetView,
    }
    const f = keys[ev.key]
    if (f) {
      ev.preventDefault()
      f()
    }
  }

  let drag: { x: number; y: number; center: number; width: number; panX: number; panY: number } | null = null
  function onDown(ev: PointerEvent) {
    canvas.value?.focus()
    canvas.value?.setPointerCapture?.(ev.pointerId)
    drag = { x: ev.clientX, y: ev.clientY, center: view.center, width: view.width, panX: view.panX, panY: view.panY }
    if (tool.value === 'measure') {
      const p = toImage(ev)
      measure.value = { a: p, b: p }
    }
  }
  function onMove(ev: PointerEvent) {
    if (!drag) return
    const dx = ev.clientX - drag.x
    const dy = ev.clientY - drag.y
    if (tool.value === 'wl') {
      view.width = Math.max(1, Math.round(drag.width + dx * 4))
      view.center = Math.round(drag.center + dy * 2)
    } else if (tool.value === 'pan') {
      view.panX = drag.panX + dx
      view.panY = drag.panY + dy
      paint()
    } else if (measure.value) {
      measure.value = { a: measure.value.a, b: toImage(ev) }
      paint()
    }
  }
  function onUp() {
    drag = null
  }

  function zoom(f: number, at?: Point) {
    const c = canvas.value
    if (!c) return
    Object.assign(view, zoomAt(c, image.width ? image : c, view, f, at))
    paint()
  }
  function pan(dx: number, dy: number) {
    Object.assign(view, panBy(view, dx, dy))
    paint()
  }
  function resetView() {
    Object.assign(view, IDENTITY_VIEW)
    paint()
  }
  function preset(center: number, width: number) {
    view.center = center
    view.width = width
  }

  watch(index, () => void showSlice())
  watch(() => [view.center, view.width], renderImage)

  function resize() {
    const c = canvas.value
    if (!c) return
    const box = c.parentElement!.getBoundingClientRect()
    c.width = Math.max(200, Math.floor(box.width))
    c.height = Math.max(200, Math.min(Math.floor(box.width), Math.floor(window.innerHeight * 0.7)))
    paint()
  }

  /** Fit the canvas to the page and follow the window and the pointer (once the canvas is in the page). */
  function mount() {
    resize()
    window.addEventListener('resize', resize)
    window.addEventListener('pointerup', onUp)
  }
  function unmount() {
    window.removeEventListener('resize', resize)
    window.removeEventListener('pointerup', onUp)
  }

  return {
    canvas, current, stack, index, loading, view, tool, slice, zoomPct, measuredMm,
    openSeries, onWheel, onKey, onDown, onMove, zoom, pan, resetView, preset, mount, unmount,
    /** how many times the canvas was painted */
    drawn: () => drawn,
  }
}
