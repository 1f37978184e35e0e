/**
 * OpenSeadragon over a DICOM slide pyramid: a tile source whose levels are the pyramid's
 * instances (OSD level 0 the smallest), each tile the WADO-RS rendered frame read with the
 * user's token; the magnification and scale bar follow the zoom; point and rectangle marks
 * are drawn as overlays in base-level pixel coordinates.
 */
import OpenSeadragon from 'openseadragon'
import { onBeforeUnmount, ref, shallowRef, type Ref } from 'vue'
import { session } from '../lib/session'
import { frameOf, imageZoomFor, magnification, scaleBar, tileUrl, type SlidePyramid } from '../lib/slide'

export interface SlideMark {
  id: string
  study_uid: string
  kind: 'point' | 'rectangle'
  x: number
  y: number
  width: number
  height: number
  text: string
}

export type SlideTool = 'pan' | 'point' | 'rectangle'

function tileSource(study: string, pyramid: SlidePyramid): OpenSeadragon.TileSource {
  const levels = [...pyramid.levels].reverse() // OSD: 0 is the smallest
  const base = pyramid.levels[0]
  const source = new OpenSeadragon.TileSource({
    width: base.width,
    height: base.height,
    tileWidth: base.tileWidth,
    tileHeight: base.tileHeight,
    tileOverlap: 0,
    minLevel: 0,
    maxLevel: levels.length - 1,
  } as unknown as OpenSeadragon.TileSourceOptions)
  const s = source as unknown as Record<string, unknown>
  s.getLevelScale = (level: number) => (levels[level] ? levels[level].width / base.width : NaN)
  s.getNumTiles = (level: number) => new OpenSeadragon.Point(levels[level]?.cols ?? 0, levels[level]?.rows ?? 0)
  s.getTileWidth = (level: number) => levels[level]?.tileWidth ?? base.tileWidth
  s.getTileHeight = (level: number) => levels[level]?.tileHeight ?? base.tileHeight
  s.getTileUrl = (level: number, x: number, y: number) => {
    const l = levels[level]
    const frame = l ? frameOf(l, x, y) : null
    // a missing TILED_SPARSE tile: no request (an empty data URL draws nothing)
    return l && frame ? tileUrl(study, l, frame) : 'data:,'
  }
  return source
}

export function useSlideViewer(
  host: Ref<HTMLElement | null>,
  marks: Ref<SlideMark[]>,
  opts: { editable: Ref<boolean>; label: Ref<string>; onAdd: (m: SlideMark) => void },
) {
  const viewer = shallowRef<OpenSeadragon.Viewer | null>(null)
  const tool = ref<SlideTool>('pan')
  const mag = ref(0)
  const bar = ref({ px: 0, label: '' })
  let pyramid: SlidePyramid | null = null
  let study = ''
  let pressAt: OpenSeadragon.Point | null = null
  let draft: HTMLElement | null = null

  function imageZoom(): number {
    const v = viewer.value
    return v ? v.viewport.viewportToImageZoom(v.viewport.getZoom(true)) : 1
  }

  function measure() {
    if (!pyramid?.baseUm) return
    const umPerPx = pyramid.baseUm / imageZoom()
    mag.value = magnification(umPerPx)
    const b = scaleBar(umPerPx)
    bar.value = { px: b.px, label: b.label }
  }

  function markElement(m: SlideMark): HTMLElement {
    const el = document.createElement('div')
    el.className = m.kind === 'point' ? 'slide-mark point' : 'slide-mark rect'
    el.dataset.testid = `slide-mark-${m.id}`
    el.title = m.text
    const label = document.createElement('span')
    label.className = 'slide-mark-text'
    label.textContent = m.text
    el.appendChild(label)
    return el
  }

  function drawMarks() {
    const v = viewer.value
    if (!v) return
    v.clearOverlays()
    for (const m of marks.value) {
      if (m.kind === 'point') {
        v.addOverlay(markElement(m), v.viewport.imageToViewportCoordinates(m.x, m.y), OpenSeadragon.Placement.CENTER)
      } else {
        v.addOverlay(markElement(m), v.viewport.imageToViewportRectangle(m.x, m.y, m.width, m.height))
      }
    }
  }

  function at(e: { position: OpenSeadragon.Point }): OpenSeadragon.Point {
    const p = viewer.value!.viewport.viewerElementToImageCoordinates(e.position)
    const base = pyramid!.levels[0]
    return new OpenSeadragon.Point(Math.min(Math.max(0, p.x), base.width), Math.min(Math.max(0, p.y), base.height))
  }

  const newId = () => `m${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`

  function handlers(v: OpenSeadragon.Viewer) {
    v.addHandler('animation', measure)
    v.addHandler('open', () => {
      measure()
      drawMarks()
      // every tile the view needs is drawn (tests and the benchmark wait for it)
      v.world.getItemAt(0)?.addHandler('fully-loaded-change', (e: { fullyLoaded: boolean }) => {
        if (host.value) host.value.dataset.fullyLoaded = String(e.fullyLoaded)
      })
    })
    v.addHandler('canvas-click', (e) => {
      if (tool.value !== 'point' || !opts.editable.value || !e.quick) return
      e.preventDefaultAction = true
      const p = at(e)
      opts.onAdd({ id: newId(), study_uid: study, kind: 'point', x: Math.round(p.x), y: Math.round(p.y), width: 0, height: 0, text: opts.label.value })
    })
    v.addHandler('canvas-press', (e) => {
      if (tool.value !== 'rectangle' || !opts.editable.value) return
      pressAt = at(e)
    })
    v.addHandler('canvas-drag', (e) => {
      if (tool.value !== 'rectangle' || !pressAt) return
      e.preventDefaultAction = true // draw, do not pan
      const p = at(e)
      if (draft) v.removeOverlay(draft)
      draft = document.createElement('div')
      draft.className = 'slide-mark rect drafting'
      const r = v.viewport.imageToViewportRectangle(Math.min(p.x, pressAt.x), Math.min(p.y, pressAt.y), Math.abs(p.x - pressAt.x), Math.abs(p.y - pressAt.y))
      v.addOverlay(draft, r)
    })
    v.addHandler('canvas-release', (e) => {
      if (tool.value !== 'rectangle' || !pressAt) return
      const p = at(e)
      const [x, y] = [Math.min(p.x, pressAt.x), Math.min(p.y, pressAt.y)]
      const [w, h] = [Math.abs(p.x - pressAt.x), Math.abs(p.y - pressAt.y)]
      pressAt = null
      if (draft) v.removeOverlay(draft)
      draft = null
      if (w >= 2 && h >= 2) {
        opts.onAdd({ id: newId(), study_uid: study, kind: 'rectangle', x: Math.round(x), y: Math.round(y), width: Math.round(w), height: Math.round(h), text: opts.label.value })
      }
    })
  }

  function open(studyUid: string, p: SlidePyramid) {
    close()
    if (!host.value || !p.levels.length) return
    pyramid = p
    study = studyUid
    const v = OpenSeadragon({
      element: host.value,
      tileSources: tileSource(studyUid, p),
      showNavigationControl: false,
      drawer: 'canvas',
      loadTilesWithAjax: true,
      ajaxHeaders: { Accept: 'image/jpeg', ...(session.token ? { Authorization: `Bearer ${session.token}` } : {}) },
      maxZoomPixelRatio: 2,
      // a level is fetched once its pixels fill 0.9 screen pixels (OSD's default 0.5 would
      // fetch the base level at 20x, where the 20x level already shows every screen pixel)
      minPixelRatio: 0.9,
      visibilityRatio: 0.5,
      animationTime: 0.6,
      immediateRender: false,
      gestureSettingsMouse: { clickToZoom: false },
    } as OpenSeadragon.Options)
    handlers(v)
    viewer.value = v
  }

  /** Zoom so that the screen shows magnification `m` (objective power, 40x = 0.25 um/px). */
  function zoomToMagnification(m: number) {
    const v = viewer.value
    if (!v || !pyramid?.baseUm) return
    v.viewport.zoomTo(v.viewport.imageToViewportZoom(imageZoomFor(m, pyramid.baseUm)))
  }

  function fit() {
    viewer.value?.viewport.goHome()
  }

  function zoomBy(f: number) {
    viewer.value?.viewport.zoomBy(f)
  }

  function close() {
    viewer.value?.destroy()
    viewer.value = null
  }

  onBeforeUnmount(close)
  return { viewer, tool, mag, bar, open, drawMarks, zoomToMagnification, fit, zoomBy, close }
}
