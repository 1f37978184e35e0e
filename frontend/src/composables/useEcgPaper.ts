/**
 * Draws an ECG on standard paper in a canvas at the device pixel ratio: 1 mm and 5 mm grid,
 * the 3×4 layout (2.5 s per column) and a 10 s rhythm strip of lead II, a 1 mV calibration
 * pulse at the start of each row, lead labels; and calipers on an overlay canvas (drag to
 * measure a time and an amplitude).
 */
import { ref, type Ref } from 'vue'
import {
  caliper, COLUMN_SECONDS, CSS_PX_PER_MM, devicePxPerMm, geometry, gridLines, LAYOUT_3X4, RHYTHM_LEAD,
  type EcgPayload, type Paper,
} from '../lib/ecg'

export const PAPER_COLOURS = { paper: '#fffaf7', minor: '#f5c9c2', major: '#e0766a', trace: '#101010' }

interface Point { x: number; y: number }

export function useEcgPaper(canvas: Ref<HTMLCanvasElement | null>, overlay: Ref<HTMLCanvasElement | null>) {
  const paper = ref<Paper>({ speed: 25, gain: 10, pxPerMm: devicePxPerMm(1) })
  const drawnLeads = ref<string[]>([])
  const readout = ref<{ ms: number; uv: number; bpm: number | null } | null>(null)
  let start: Point | null = null
  let end: Point | null = null

  function line(ctx: CanvasRenderingContext2D, positions: number[], vertical: boolean, length: number) {
    ctx.beginPath()
    for (const p of positions) {
      const at = Math.round(p) + 0.5 // crisp 1-device-pixel lines
      if (vertical) { ctx.moveTo(at, 0); ctx.lineTo(at, length) } else { ctx.moveTo(0, at); ctx.lineTo(length, at) }
    }
    ctx.stroke()
  }

  function trace(ctx: CanvasRenderingContext2D, samples: number[], rate: number, from: number, to: number,
    x0mm: number, y0mm: number) {
    const p = paper.value
    const first = Math.max(0, Math.floor(from * rate))
    const last = Math.min(samples.length - 1, Math.ceil(to * rate) - 1)
    ctx.beginPath()
    for (let i = first; i <= last; i++) {
      const x = (x0mm + ((i / rate) - from) * p.speed) * p.pxPerMm
      const y = (y0mm - (samples[i] / 1000) * p.gain) * p.pxPerMm
      if (i === first) ctx.moveTo(x, y); else ctx.lineTo(x, y)
    }
    ctx.stroke()
  }

  function pulse(ctx: CanvasRenderingContext2D, y0mm: number) {
    const p = paper.value
    const x = 5, w = 0.2 * p.speed, h = p.gain // 1 mV for 200 ms
    ctx.beginPath()
    ctx.moveTo((x - 2) * p.pxPerMm, y0mm * p.pxPerMm)
    ctx.lineTo(x * p.pxPerMm, y0mm * p.pxPerMm)
    ctx.lineTo(x * p.pxPerMm, (y0mm - h) * p.pxPerMm)
    ctx.lineTo((x + w) * p.pxPerMm, (y0mm - h) * p.pxPerMm)
    ctx.lineTo((x + w) * p.pxPerMm, y0mm * p.pxPerMm)
    ctx.lineTo((x + w + 2) * p.pxPerMm, y0mm * p.pxPerMm)
    ctx.stroke()
  }

  /** Draw `ecg` at `speed` mm/s and `gain` mm/mV; `cssPxPerMm` is the screen's stated scale. */
  function draw(ecg: EcgPayload, speed: number, gain: number, cssPxPerMm: number = CSS_PX_PER_MM) {
    const c = canvas.value
    if (!c) return
    const dpr = window.devicePixelRatio || 1
    paper.value = { speed, gain, pxPerMm: devicePxPerMm(dpr, cssPxPerMm) }
    const p = paper.value
    const g = geometry(p)
    c.width = Math.round(g.widthMm * p.pxPerMm)
    c.height = Math.round(g.heightMm * p.pxPerMm)
    c.style.width = `${c.width / dpr}px`
    c.style.height = `${c.height / dpr}px`
    const ctx = c.getContext('2d')
    if (!ctx) return
    ctx.fillStyle = PAPER_COLOURS.paper
    ctx.fillRect(0, 0, c.width, c.height)
    ctx.lineWidth = 1
    ctx.strokeStyle = PAPER_COLOURS.minor
    line(ctx, gridLines(g.widthMm, 1, p.pxPerMm).filter((_, i) => i % 5), true, c.height)
    line(ctx, gridLines(g.heightMm, 1, p.pxPerMm).filter((_, i) => i % 5), false, c.width)
    ctx.strokeStyle = PAPER_COLOURS.major
    line(ctx, gridLines(g.widthMm, 5, p.pxPerMm), true, c.height)
    line(ctx, gridLines(g.heightMm, 5, p.pxPerMm), false, c.width)

    const byLabel = new Map(ecg.leads.map((l) => [l.label, l]))
    const rate = ecg.sampling_rate
    ctx.strokeStyle = PAPER_COLOURS.trace
    ctx.fillStyle = PAPER_COLOURS.trace
    ctx.lineWidth = Math.max(1, 1.3 * dpr)
    ctx.lineJoin = 'round'
    ctx.font = `${Math.round(3.2 * p.pxPerMm)}px sans-serif`
    const drawn: string[] = []
    const rows = [...LAYOUT_3X4, [RHYTHM_LEAD]]
    rows.forEach((row, r) => {
      const y0 = (r + 0.62) * g.rowMm
      pulse(ctx, y0)
      row.forEach((label, col) => {
        const lead = byLabel.get(label)
        const rhythm = r === LAYOUT_3X4.length
        const from = rhythm ? 0 : col * COLUMN_SECONDS
        const to = rhythm ? ecg.duration_s : from + COLUMN_SECONDS
        const x0 = g.marginMm + (rhythm ? 0 : col * COLUMN_SECONDS * speed)
        ctx.fillText(label, (x0 + 1) * p.pxPerMm, (y0 - g.rowMm * 0.45) * p.pxPerMm)
        if (col > 0) { // a short mark where one lead's time ends and the next begins
          ctx.beginPath()
          ctx.moveTo(x0 * p.pxPerMm, (y0 - 3) * p.pxPerMm)
          ctx.lineTo(x0 * p.pxPerMm, (y0 + 3) * p.pxPerMm)
          ctx.stroke()
        }
        if (!lead) return
        trace(ctx, lead.samples, rate, from, to, x0, y0)
        drawn.push(rhythm ? `${label} (rhythm)` : label)
      })
    })
    drawnLeads.value = drawn
    start = end = null // a caliper measured on the old paper means nothing on the new one
    readout.value = null
    const o = overlay.value
    if (o) {
      o.width = c.width; o.height = c.height
      o.style.width = c.style.width; o.style.height = c.style.height
      drawCaliper()
    }
  }

  function drawCaliper() {
    const o = overlay.value
    const ctx = o?.getContext('2d')
    if (!o || !ctx) return
    ctx.clearRect(0, 0, o.width, o.height)
    if (!start || !end) return
    const dpr = window.devicePixelRatio || 1
    ctx.strokeStyle = '#1565c0'
    ctx.lineWidth = Math.max(1, dpr)
    ctx.beginPath()
    ctx.moveTo(start.x, 0); ctx.lineTo(start.x, o.height)
    ctx.moveTo(end.x, 0); ctx.lineTo(end.x, o.height)
    ctx.moveTo(start.x, start.y); ctx.lineTo(end.x, start.y); ctx.lineTo(end.x, end.y)
    ctx.stroke()
  }

  function at(e: PointerEvent): Point {
    const dpr = window.devicePixelRatio || 1
    return { x: e.offsetX * dpr, y: e.offsetY * dpr }
  }

  function onDown(e: PointerEvent) {
    start = at(e); end = start
    ;(e.target as Element).setPointerCapture?.(e.pointerId)
    readout.value = null
    drawCaliper()
  }
  function onMove(e: PointerEvent) {
    if (!start || e.buttons === 0) return
    end = at(e)
    readout.value = caliper(end.x - start.x, end.y - start.y, paper.value)
    drawCaliper()
  }
  function clearCaliper() {
    start = end = null
    readout.value = null
    drawCaliper()
  }

  return { paper, drawnLeads, readout, draw, onDown, onMove, clearCaliper }
}
