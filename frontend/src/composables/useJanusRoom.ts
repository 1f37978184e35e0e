/**
 * A room on Janus (docs/video.md, "Rooms on Janus"): with the `sfu` message of our server
 * (Janus URL, room, this admission's token, what we may publish) the browser joins the
 * VideoRoom as a publisher (so it hears of every other publisher and of who talks),
 * publishes camera and microphone (VP8 with simulcast layers where the browser can) or, a
 * lecture's attendee, nothing until the presenter lets them speak (then the microphone
 * only), and subscribes to every other publisher: new ones as they appear, leaving ones
 * removed. Janus's `talking` events (audio levels) name the active speaker.
 */
import { ref, type Ref } from 'vue'
import { JanusHandle, JanusSession, SIMULCAST, canSimulcastVp8, type Json } from '../lib/janus'

export type PublishRights = 'media' | 'audio' | 'none'

export interface SfuMessage {
  url: string
  room: string
  token: string
  display: string
  feed: string
  publish: PublishRights
}

export interface JanusDeps {
  stream: Ref<MediaStream | null>
  outgoingVideo: () => MediaStreamTrack | undefined
  iceServers: () => RTCIceServer[]
  /** where remote streams are shown, by user id (the publisher's display) */
  remotes: Record<string, { name: string; stream: MediaStream }>
  nameOf: (userId: string) => string | undefined
  /** the room's connections, for the e2e tests' getStats() */
  pcs: Map<string, RTCPeerConnection>
  onError: (code: string, detail: string) => void
}

interface Feed {
  id: string
  display: string
  handle: JanusHandle
  pc: RTCPeerConnection
}

export function useJanusRoom({ stream, outgoingVideo, iceServers, remotes, nameOf, pcs, onError }: JanusDeps) {
  const speaker = ref('') // user id of the active speaker (Janus talking events)
  const publishing = ref<PublishRights>('none')
  let session: JanusSession | null = null
  let me: JanusHandle | null = null
  let myPc: RTCPeerConnection | null = null
  let sfu: SfuMessage | null = null
  const feeds = new Map<string, Feed>()
  const displays = new Map<string, string>() // Janus publisher id → user id
  let myId = ''

  function track(key: string, pc: RTCPeerConnection | null) {
    if (pc) pcs.set(key, pc)
    else pcs.delete(key)
  }

  async function start(msg: SfuMessage) {
    await stop()
    sfu = msg
    try {
      session = await new JanusSession(msg.url, msg.token).create()
      me = await session.attach(onPublisherEvent)
      // as the publisher id our server issued (a lecture's guard drops any other)
      const { data } = await me.send({ request: 'join', ptype: 'publisher', room: msg.room, id: msg.feed, display: msg.display, token: msg.token })
      myId = String(data.id)
      for (const p of data.publishers ?? []) void subscribe(p)
      await publish(msg.publish)
    } catch (e) {
      onError('sfu_unavailable', String(e))
    }
  }

  /** Publish what we may: camera and microphone (`media`), the microphone (`audio`), nothing. */
  async function publish(rights: PublishRights) {
    if (!me || !stream.value || rights === publishing.value) return
    await unpublish()
    publishing.value = rights
    if (rights === 'none') return
    const pc = new RTCPeerConnection({ iceServers: iceServers() })
    myPc = pc
    track('janus-publisher', pc)
    const audio = stream.value.getAudioTracks()[0]
    if (audio) pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream.value] })
    const video = rights === 'media' ? outgoingVideo() : undefined
    if (video) {
      const init: RTCRtpTransceiverInit = { direction: 'sendonly', streams: [stream.value] }
      if (canSimulcastVp8()) init.sendEncodings = SIMULCAST.map((e) => ({ ...e }))
      pc.addTransceiver(video, init)
    }
    const handle = me
    pc.onicecandidate = (ev) => handle.trickle(ev.candidate)
    await pc.setLocalDescription(await pc.createOffer())
    const { jsep } = await handle.send({ request: 'configure', audio: !!audio, video: !!video }, pc.localDescription!.toJSON())
    if (jsep) await pc.setRemoteDescription(jsep)
  }

  async function unpublish() {
    if (!myPc) return
    myPc.close()
    myPc = null
    track('janus-publisher', null)
    publishing.value = 'none'
    await me?.send({ request: 'unpublish' }).catch(() => undefined)
  }

  function onPublisherEvent(event: Json) {
    const data: Json = event.plugindata?.data ?? {}
    ;(window as unknown as { __janusEvents?: Json[] }).__janusEvents?.push(data) // e2e tests only
    if (data.videoroom === 'talking') speaker.value = displays.get(String(data.id)) ?? speaker.value
    if (data.videoroom === 'stopped-talking' && speaker.value === displays.get(String(data.id))) speaker.value = ''
    if (data.videoroom === 'destroyed') void stop()
    if (data.videoroom !== 'event') return
    for (const p of data.publishers ?? []) void subscribe(p)
    const gone = data.unpublished ?? data.leaving ?? data.kicked
    if (gone === 'ok') {
      // Janus dropped us (the presenter took the word back): join again, listening only
      const again = sfu
      void stop().then(() => again && start({ ...again, publish: 'none' }))
    } else if (gone !== undefined) drop(String(gone))
  }

  async function subscribe(p: Json) {
    const id = String(p.id)
    if (!session || !sfu || id === myId || feeds.has(id)) return
    const display = String(p.display ?? '')
    displays.set(id, display)
    if (p.talking) speaker.value = display // talking already when we joined (events are edges)
    const handle = await session.attach(() => undefined)
    const pc = new RTCPeerConnection({ iceServers: iceServers() })
    const feed: Feed = { id, display, handle, pc }
    feeds.set(id, feed)
    track(`janus-${id}`, pc)
    pc.onicecandidate = (ev) => handle.trickle(ev.candidate)
    pc.ontrack = (ev) => {
      const shown = remotes[display]?.stream ?? new MediaStream()
      if (!shown.getTracks().includes(ev.track)) shown.addTrack(ev.track)
      remotes[display] = { name: nameOf(display) ?? '', stream: shown }
    }
    try {
      const { jsep } = await handle.send({ request: 'join', ptype: 'subscriber', room: sfu.room, streams: [{ feed: id }], token: sfu.token })
      if (!jsep) return
      await pc.setRemoteDescription(jsep)
      await pc.setLocalDescription(await pc.createAnswer())
      await handle.send({ request: 'start' }, pc.localDescription!.toJSON())
    } catch (e) {
      drop(id)
      onError('sfu_unavailable', String(e))
    }
  }

  function drop(id: string) {
    const feed = feeds.get(id)
    if (!feed) return
    feeds.delete(id)
    feed.pc.close()
    track(`janus-${id}`, null)
    void feed.handle.detach()
    if (![...feeds.values()].some((f) => f.display === feed.display)) delete remotes[feed.display]
  }

  /** Send `track` instead of the camera (screen share) without renegotiating. */
  async function sendVideo(video: MediaStreamTrack) {
    const sender = myPc?.getSenders().find((s) => s.track?.kind === 'video')
    if (sender) await sender.replaceTrack(video)
  }

  async function stop() {
    for (const id of [...feeds.keys()]) drop(id)
    myPc?.close()
    myPc = null
    track('janus-publisher', null)
    publishing.value = 'none'
    const s = session
    session = null
    me = null
    sfu = null
    await s?.destroy()
  }

  function rename() {
    for (const [uid, r] of Object.entries(remotes)) r.name = nameOf(uid) ?? r.name
  }

  return { speaker, publishing, start, publish, sendVideo, stop, rename }
}
