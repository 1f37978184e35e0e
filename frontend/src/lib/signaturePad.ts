/**
 * The on-screen signature's logic, kept out of the component so it can be tested without a
 * DOM: a pointer position in canvas pixels (the canvas is drawn at the device pixel ratio),
 * the strokes drawn so far, and whether they amount to a signature.
 */

export interface Point {
  x: number
  y: number
}

/** The canvas pixel under a pointer at (clientX, clientY) for a canvas shown in `rect`
 * whose backing store is `width`×`height` pixels (CSS size × device pixel ratio). */
export function canvasPoint(
  clientX: number,
  clientY: number,
  rect: { left: number; top: number; width: number; height: number },
  width: number,
  height: number,
): Point {
  const sx = rect.width ? width / rect.width : 1
  const sy = rect.height ? height / rect.height : 1
  return { x: (clientX - rect.left) * sx, y: (clientY - rect.top) * sy }
}

/** The backing-store size for a canvas shown at `cssWidth`×`cssHeight` at ratio `dpr`. */
export function backingSize(cssWidth: number, cssHeight: number, dpr: number): { width: number; height: number } {
  const ratio = dpr > 0 ? dpr : 1
  return { width: Math.round(cssWidth * ratio), height: Math.round(cssHeight * ratio) }
}

/** The ink of the strokes: their summed length, in the strokes' own pixels. */
export function inkLength(strokes: Point[][]): number {
  let total = 0
  for (const s of strokes) {
    for (let i = 1; i < s.length; i++) total += Math.hypot(s[i].x - s[i - 1].x, s[i].y - s[i - 1].y)
  }
  return total
}

/** Enough ink to be a signature rather than a tap: `minCss` CSS pixels at ratio `dpr`. */
export function isSignature(strokes: Point[][], dpr: number, minCss = 40): boolean {
  return inkLength(strokes) >= minCss * (dpr > 0 ? dpr : 1)
}
