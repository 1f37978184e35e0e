/**
 * A small typed client of the Janus HTTP API (VideoRoom plugin), as the browser uses it in
 * rooms on Janus (docs/video.md, "Rooms on Janus"): the same calls as the server's
 * `telemed/video/sfu.py` (`JanusSession`). Requests are POSTed; events come by long poll
 * (`GET <session>?maxev=`); the session is kept alive every 25 s. Every request carries the
 * token our server handed out on admission (the `sfu` message).
 *
 * We wrote our own instead of the `janus-gateway` package's janus.js: that script is an
 * untyped global with its own WebRTC wrapper (adapter.js); we need five requests and the
 * RTCPeerConnections of our own room code.
 */

export type Json = Record<string, any>

export class JanusError extends Error {
  constructor(public code: number, public reason: string) {
    super(`janus error ${code}: ${reason}`)
  }
}

let counter = 0
function transaction(): string {
  counter += 1
  return `t${Date.now().toString(36)}${counter}`
}

function failure(reply: Json): JanusError | null {
  if (reply.janus === 'error') return new JanusError(reply.error?.code ?? 0, reply.error?.reason ?? '')
  const data = reply.plugindata?.data
  if (data && data.error_code) return new JanusError(data.error_code, data.error ?? '')
  return null
}

export class JanusSession {
  id = 0
  private handles = new Map<number, JanusHandle>()
  private waiting = new Map<string, (event: Json) => void>()
  private alive = true
  private keepalive: ReturnType<typeof setInterval> | null = null

  constructor(private url: string, private token: string) {}

  async post(path: string, message: Json): Promise<Json> {
    const r = await fetch(this.url.replace(/\/$/, '') + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ transaction: transaction(), token: this.token, ...message }),
    })
    const reply = (await r.json()) as Json
    const err = failure(reply)
    if (err) throw err
    return reply
  }

  async create(): Promise<this> {
    const reply = await this.post('', { janus: 'create' })
    this.id = reply.data.id
    void this.poll()
    this.keepalive = setInterval(() => void this.post(`/${this.id}`, { janus: 'keepalive' }).catch(() => undefined), 25_000)
    return this
  }

  async attach(onEvent: (event: Json) => void): Promise<JanusHandle> {
    const reply = await this.post(`/${this.id}`, { janus: 'attach', plugin: 'janus.plugin.videoroom' })
    const handle = new JanusHandle(this, reply.data.id, onEvent)
    this.handles.set(handle.id, handle)
    return handle
  }

  /** Resolves with the event answering `tx` (join, configure, start …). */
  expect(tx: string): Promise<Json> {
    return new Promise((resolve) => this.waiting.set(tx, resolve))
  }

  private async poll() {
    while (this.alive) {
      let events: Json[] = []
      try {
        const r = await fetch(`${this.url.replace(/\/$/, '')}/${this.id}?maxev=10&token=${encodeURIComponent(this.token)}&rid=${Date.now()}`)
        const body = await r.json()
        events = Array.isArray(body) ? body : [body]
      } catch {
        await new Promise((res) => setTimeout(res, 1000))
        continue
      }
      for (const event of events) this.dispatch(event)
    }
  }

  private dispatch(event: Json) {
    const answer = this.waiting.get(String(event.transaction))
    if (answer && event.janus !== 'ack') {
      this.waiting.delete(String(event.transaction))
      answer(event)
      return
    }
    this.handles.get(Number(event.sender))?.onEvent(event)
  }

  forget(handle: JanusHandle) {
    this.handles.delete(handle.id)
  }

  async destroy() {
    if (!this.alive) return
    this.alive = false
    if (this.keepalive) clearInterval(this.keepalive)
    await this.post(`/${this.id}`, { janus: 'destroy' }).catch(() => undefined)
  }
}

export class JanusHandle {
  constructor(public session: JanusSession, public id: number, public onEvent: (event: Json) => void) {}

  private get path() {
    return `/${this.session.id}/${this.id}`
  }

  /** An asynchronous VideoRoom request: the plugin's data and the jsep of its event. */
  async send(body: Json, jsep?: RTCSessionDescriptionInit): Promise<{ data: Json; jsep?: RTCSessionDescriptionInit }> {
    const tx = transaction()
    const event = this.session.expect(tx)
    await this.session.post(this.path, { janus: 'message', body, transaction: tx, ...(jsep ? { jsep } : {}) })
    const reply = await event
    const err = failure(reply)
    if (err) throw err
    return { data: reply.plugindata?.data ?? {}, jsep: reply.jsep }
  }

  /** Trickle one ICE candidate (null: gathering completed). */
  trickle(candidate: RTCIceCandidate | null) {
    const body = candidate ? candidate.toJSON() : { completed: true }
    void this.session.post(this.path, { janus: 'trickle', candidate: body }).catch(() => undefined)
  }

  async detach() {
    this.session.forget(this)
    await this.session.post(this.path, { janus: 'detach' }).catch(() => undefined)
  }
}

/** The simulcast layers a VP8 publisher sends (Janus forwards one per subscriber). */
export const SIMULCAST: RTCRtpEncodingParameters[] = [
  { rid: 'h', active: true, maxBitrate: 900_000 },
  { rid: 'm', active: true, maxBitrate: 300_000, scaleResolutionDownBy: 2 },
  { rid: 'l', active: true, maxBitrate: 100_000, scaleResolutionDownBy: 4 },
]

/** Whether this browser can send VP8 with simulcast layers (rid-based). */
export function canSimulcastVp8(): boolean {
  const caps = typeof RTCRtpSender !== 'undefined' && RTCRtpSender.getCapabilities ? RTCRtpSender.getCapabilities('video') : null
  return !!caps?.codecs.some((c) => c.mimeType.toLowerCase() === 'video/vp8')
}
