/**
 * The stack viewports of the reading workstation on Cornerstone3D: one rendering engine, up to
 * four stack viewports (1×1, 1×2, 2×2) in one tool group, linked scrolling and window/level
 * between them, and the state the overlay shows for each (image index, W/L, zoom, camera).
 *
 * Bindings: mouse primary = the chosen tool, wheel = slices, middle = pan, right = zoom;
 * touch: one finger = slices (the default on a touch screen) or the chosen tool (W/L, a
 * measuring tool), pinch = zoom and two fingers = pan (the zoom tool's pinch does both).
 * Cornerstone gives one finger to the first active tool bound to the primary button, so only
 * the chosen tool ever holds that binding.
 */
import { reactive, ref, shallowRef } from 'vue'
import { Enums, eventTarget, RenderingEngine, type StackViewport, type Types } from '@cornerstonejs/core'
import { Enums as ToolEnums, ToolGroupManager, utilities as toolUtils, type Types as ToolTypes } from '@cornerstonejs/tools'
import { ensureCornerstone } from '../lib/cornerstone'
import type { SeriesStack } from '../lib/viewerSeries'

export type ToolName =
  | 'WindowLevel' | 'Pan' | 'Zoom' | 'StackScroll' | 'Length' | 'Angle'
  | 'EllipticalROI' | 'RectangleROI' | 'ArrowAnnotate'
export const MEASURING: ToolName[] = ['Length', 'Angle', 'EllipticalROI', 'RectangleROI', 'ArrowAnnotate']

export interface PaneState {
  index: number
  total: number
  center: number
  width: number
  zoom: number
  viewUp: [number, number, number]
  normal: [number, number, number]
  stack: SeriesStack | null
}

const { MouseBindings } = ToolEnums
const RENDER_WAIT_MS = 3000
const ENGINE_ID = 'telemed-viewer'
let instances = 0
/** One rendering engine for the app's life: its WebGL context and compiled shaders are kept
 * from one study to the next (a new engine pays for them again before its first image). */
let sharedEngine: RenderingEngine | null = null

export function useCornerstone(arrowText: () => string) {
  const engineId = ENGINE_ID
  const instanceId = `telemed-viewer-${++instances}`
  const toolGroupId = `${instanceId}-stack`
  const engine = shallowRef<RenderingEngine | null>(null)
  const panes = reactive<PaneState[]>([])
  const active = ref(0)
  // On a touch screen one finger changes slices until the W/L (or a measuring) tool is chosen;
  // with a mouse the left button windows and the wheel changes slices.
  const coarse = typeof matchMedia === 'function' && matchMedia('(pointer: coarse)').matches
  const tool = ref<ToolName>(coarse ? 'StackScroll' : 'WindowLevel')
  const linked = ref(true)
  const elements: HTMLDivElement[] = []
  let syncing = false

  const paneId = (i: number) => `${instanceId}-pane-${i}`
  const viewport = (i: number) => engine.value?.getViewport(paneId(i)) as StackViewport | undefined

  async function start() {
    await ensureCornerstone()
    sharedEngine ??= new RenderingEngine(ENGINE_ID)
    engine.value = sharedEngine
    const group = ToolGroupManager.createToolGroup(toolGroupId)!
    for (const t of ['WindowLevel', 'Pan', 'Zoom', 'StackScroll', ...MEASURING]) group.addTool(t)
    group.setToolConfiguration('ArrowAnnotate', {
      getTextCallback: (done: (text: string) => void) => done(arrowText()),
      changeTextCallback: (_d: unknown, _e: unknown, done: (text: string) => void) => done(arrowText()),
    })
    bindTools()
    eventTarget.addEventListener(Enums.Events.STACK_NEW_IMAGE, onNewImage as EventListener)
  }

  /** Mouse and touch bindings for the chosen tool (see the module comment). */
  function bindTools() {
    const group = ToolGroupManager.getToolGroup(toolGroupId)
    if (!group) return
    for (const t of ['WindowLevel', 'Pan', 'Zoom', 'StackScroll', ...MEASURING]) group.setToolPassive(t, { removeAllBindings: true })
    const primary: ToolTypes.IToolBinding[] = [{ mouseButton: MouseBindings.Primary }]
    const oneFinger = { mouseButton: MouseBindings.Primary, numTouchPoints: 1 }
    const chosen = tool.value
    const byFinger = chosen === 'StackScroll' || chosen === 'Pan' || chosen === 'Zoom'
    group.setToolActive('StackScroll', {
      bindings: [{ mouseButton: MouseBindings.Wheel }, ...(chosen === 'StackScroll' ? primary : []), ...(byFinger ? [oneFinger] : [])],
    })
    group.setToolActive('Zoom', {
      bindings: [{ mouseButton: MouseBindings.Secondary }, { numTouchPoints: 2 }, ...(chosen === 'Zoom' ? primary : [])],
    })
    group.setToolActive('Pan', { bindings: [{ mouseButton: MouseBindings.Auxiliary }, ...(chosen === 'Pan' ? primary : [])] })
    if (!byFinger) group.setToolActive(chosen, { bindings: [oneFinger] })
  }

  function useTool(t: ToolName) {
    tool.value = t
    bindTools()
  }

  /** Lay out `count` panes on these elements (1, 2 or 4), keeping the stacks already shown. */
  function layout(els: HTMLDivElement[]) {
    const e = engine.value
    if (!e) return
    const group = ToolGroupManager.getToolGroup(toolGroupId)!
    for (let i = els.length; i < elements.length; i++) {
      group.removeViewports(engineId, paneId(i))
      e.disableElement(paneId(i))
    }
    panes.splice(els.length)
    for (let i = 0; i < els.length; i++) {
      if (elements[i] === els[i] && e.getViewport(paneId(i))) continue
      e.enableElement({ viewportId: paneId(i), type: Enums.ViewportType.STACK, element: els[i], defaultOptions: { background: [0, 0, 0] } })
      group.addViewport(paneId(i), engineId)
      els[i].addEventListener(Enums.Events.VOI_MODIFIED, () => onVoi(i))
      els[i].addEventListener(Enums.Events.CAMERA_MODIFIED, () => readState(i))
      els[i].addEventListener('pointerdown', () => (active.value = i))
      if (!panes[i]) panes[i] = { index: 0, total: 0, center: 40, width: 400, zoom: 1, viewUp: [0, -1, 0], normal: [0, 0, -1], stack: null }
    }
    elements.splice(0, elements.length, ...els)
    e.resize(true, true)
  }

  /** Show a series in a pane, at its middle image (or `at`). */
  async function show(i: number, stack: SeriesStack, at?: number) {
    const vp = viewport(i)
    if (!vp) return
    const index = at ?? Math.floor(stack.imageIds.length / 2)
    panes[i].stack = stack
    panes[i].total = stack.imageIds.length
    const drawn = rendered(elements[i])
    await vp.setStack(stack.imageIds, index)
    vp.resetCamera() // a new series starts fitted to the pane
    vp.render()
    readState(i)
    // The image on the screen first: the rest of the stack, the thumbnails and the context
    // (the caller's next steps) would compete with its render for the main thread.
    await drawn
    // fetch the rest of the stack in the background (nearest images first), so scrolling on a
    // slow link does not wait for each image
    toolUtils.stackPrefetch.enable(elements[i])
  }

  /** Resolves when the element has drawn an image (or after `RENDER_WAIT_MS`, so that a
   * pane that cannot draw holds nothing up). */
  function rendered(element: HTMLDivElement): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        element.removeEventListener(Enums.Events.IMAGE_RENDERED, done)
        clearTimeout(timer)
        // drawn into the canvas; on the screen once this frame is presented (the next
        // animation frame), and only then may other work take the main thread
        requestAnimationFrame(() => setTimeout(resolve, 0))
      }
      const timer = setTimeout(done, RENDER_WAIT_MS)
      element.addEventListener(Enums.Events.IMAGE_RENDERED, done)
    })
  }

  function readState(i: number) {
    const vp = viewport(i)
    const p = panes[i]
    if (!vp || !p) return
    p.index = vp.getCurrentImageIdIndex()
    const voi = vp.getProperties().voiRange
    if (voi) {
      p.width = Math.round(voi.upper - voi.lower)
      p.center = Math.round((voi.upper + voi.lower) / 2)
    }
    const cam = vp.getCamera()
    if (cam.viewUp) p.viewUp = [...cam.viewUp] as [number, number, number]
    if (cam.viewPlaneNormal) p.normal = [...cam.viewPlaneNormal] as [number, number, number]
    p.zoom = Math.round(vp.getZoom() * 100) / 100
  }

  function paneOf(element: HTMLDivElement): number {
    return elements.indexOf(element)
  }

  /** A new image in one pane: follow in the others at the same fraction of their stacks. */
  function onNewImage(ev: CustomEvent<{ element: HTMLDivElement }>) {
    const i = paneOf(ev.detail.element)
    if (i < 0) return
    readState(i)
    if (!linked.value || syncing || panes.length < 2) return
    syncing = true
    try {
      const frac = panes[i].total > 1 ? panes[i].index / (panes[i].total - 1) : 0
      panes.forEach((p, k) => {
        const vp = viewport(k)
        if (k === i || !vp || !p.total) return
        const target = Math.round(frac * (p.total - 1))
        if (target !== vp.getCurrentImageIdIndex()) void vp.setImageIdIndex(target)
      })
    } finally {
      syncing = false
    }
  }

  /** W/L changed in one pane: the same window in the linked others. */
  function onVoi(i: number) {
    readState(i)
    if (!linked.value || syncing) return
    syncing = true
    try {
      const voi = viewport(i)?.getProperties().voiRange
      panes.forEach((_p, k) => {
        const vp = viewport(k)
        if (k === i || !vp || !voi || !panes[k].total) return
        vp.setProperties({ voiRange: { ...voi } })
        vp.render()
        readState(k)
      })
    } finally {
      syncing = false
    }
  }

  function setWindow(center: number, width: number) {
    const vp = viewport(active.value)
    if (!vp) return
    vp.setProperties({ voiRange: { lower: center - width / 2, upper: center + width / 2 } })
    vp.render()
    onVoi(active.value)
  }

  function scroll(delta: number) {
    const vp = viewport(active.value)
    const p = panes[active.value]
    if (!vp || !p?.total) return
    const n = Math.min(p.total - 1, Math.max(0, vp.getCurrentImageIdIndex() + delta))
    void vp.setImageIdIndex(n)
  }

  function zoomBy(f: number) {
    const vp = viewport(active.value)
    if (!vp) return
    vp.setZoom(vp.getZoom() * f)
    vp.render()
  }

  function reset() {
    const vp = viewport(active.value)
    if (!vp) return
    vp.resetCamera()
    vp.resetProperties()
    vp.render()
    readState(active.value)
  }

  function resize() {
    engine.value?.resize(true, true)
  }

  function currentImageId(i = active.value): string | undefined {
    return viewport(i)?.getCurrentImageId()
  }

  function stop() {
    eventTarget.removeEventListener(Enums.Events.STACK_NEW_IMAGE, onNewImage as EventListener)
    ToolGroupManager.destroyToolGroup(toolGroupId)
    for (let i = 0; i < elements.length; i++) engine.value?.disableElement(paneId(i))
    elements.splice(0)
    engine.value = null // the engine stays for the next study
  }

  return {
    engine, panes, active, tool, linked, start, layout, show, useTool, setWindow, scroll, zoomBy, reset, resize,
    currentImageId, viewport, stop,
  } as const
}

export type Cornerstone = ReturnType<typeof useCornerstone>
export type ViewportInput = Types.PublicViewportInput
