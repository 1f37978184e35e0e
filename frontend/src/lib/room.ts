/**
 * The video room's connection logic that does not need a browser: when to reconnect,
 * how long to wait, and how connections are keyed (docs/video.md, signaling protocol).
 */

/** Close codes after which rejoining cannot help (docs/video.md, close codes). */
export const FINAL_CLOSE_CODES: Record<number, string> = {
  4401: 'unauthenticated',
  4403: 'forbidden',
  4404: 'not_found',
  4409: 'replaced',
  4410: 'room_closed',
  4413: 'room_full',
  4429: 'flooding',
}

/** An `error` message of the signaling server (docs/video.md, "Errors and close codes"). */
export interface SignalingError {
  code: string
  detail?: string
  max_chars?: number
}

/** The `room.errors` text of a signaling error and its parameters: the chat length refusal
 * is an `invalid` that names the limit (`max_chars`), the rest are their own code. */
export function signalingErrorText(msg: SignalingError): { key: string; params: Record<string, string | number> } {
  if (msg.code === 'invalid' && typeof msg.max_chars === 'number') {
    return { key: 'chat_length', params: { max: msg.max_chars } }
  }
  return { key: msg.code, params: {} }
}

/** Whether a socket that closed with `code` should be reopened (we did not leave on purpose). */
export function shouldReconnect(code: number, leaving: boolean): boolean {
  if (leaving) return false
  return !(code in FINAL_CLOSE_CODES)
}

export interface BackoffOptions {
  /** first delay in ms */
  base?: number
  /** longest delay in ms */
  cap?: number
  /** 0..1; defaults to Math.random */
  random?: () => number
}

/**
 * Delay before reconnection attempt `attempt` (0 = first): exponential, capped, with
 * "equal jitter" (half fixed, half random) so that a room of clients cut off together
 * does not come back in lockstep.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.base ?? 500
  const cap = opts.cap ?? 10_000
  const random = opts.random ?? Math.random
  const full = Math.min(cap, base * 2 ** Math.max(0, attempt))
  return Math.round(full / 2 + (random() * full) / 2)
}

export interface Timers {
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
  now: () => number
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
}

/**
 * Schedules reconnection attempts with backoff. `schedule()` after each drop (or failed
 * attempt), `succeeded()` once the room answered `joined`, `cancel()` when leaving.
 * At most one attempt is pending at a time.
 */
export class Reconnector {
  attempt = 0
  /** when the pending attempt runs (ms since epoch), null when none is pending */
  nextAt: number | null = null
  private handle: unknown = null

  constructor(
    private readonly run: () => void,
    private readonly opts: BackoffOptions = {},
    private readonly timers: Timers = realTimers,
  ) {}

  get pending(): boolean {
    return this.handle !== null
  }

  /** Plan the next attempt; returns its delay in ms (the pending one's if already planned). */
  schedule(): number {
    if (this.handle !== null) return Math.max(0, (this.nextAt ?? 0) - this.timers.now())
    const delay = backoffDelay(this.attempt, this.opts)
    this.attempt += 1
    this.nextAt = this.timers.now() + delay
    this.handle = this.timers.setTimeout(() => {
      this.handle = null
      this.nextAt = null
      this.run()
    }, delay)
    return delay
  }

  succeeded(): void {
    this.cancel()
    this.attempt = 0
  }

  cancel(): void {
    if (this.handle !== null) this.timers.clearTimeout(this.handle)
    this.handle = null
    this.nextAt = null
  }
}

/** Purposes of a connection: `mesh` between browsers, `upstream`/`downstream` with the server peer. */
export type Purpose = 'mesh' | 'upstream' | 'downstream'

/** One RTCPeerConnection per (remote peer, purpose, source): the protocol's "same peer and purpose". */
export function connectionKey(peer: string, purpose: Purpose = 'mesh', source = ''): string {
  return purpose === 'mesh' ? peer : `${peer}|${purpose}|${source}`
}

/** The remote peer a connection key belongs to. */
export function keyPeer(key: string): string {
  return key.split('|', 1)[0]
}

/** Whose video a connection shows: the source of a downstream, the peer of a mesh one, nobody's for upstream. */
export function shownPeer(peer: string, purpose: Purpose, source = ''): string | null {
  if (purpose === 'upstream') return null
  return purpose === 'downstream' ? source : peer
}

/** Whole years of age on `today` ("YYYY-MM-DD" both), as the consultation's context shows it. */
export function ageOn(birth: string, today: string): number {
  const [by, bm, bd] = birth.split('-').map(Number)
  const [ty, tm, td] = today.split('-').map(Number)
  return ty - by - (tm < bm || (tm === bm && td < bd) ? 1 : 0)
}

/** The document title while people wait: "(n) <waiting> · <title>"; the plain title otherwise. */
export function waitingTitle(base: string, waitingText: string, n: number): string {
  return n > 0 ? `(${n}) ${waitingText} · ${base}` : base
}

/** Whether the alert should sound: someone new is waiting (more than before). */
export function newArrival(before: readonly string[], now: readonly string[]): boolean {
  const seen = new Set(before)
  return now.some((id) => !seen.has(id))
}
