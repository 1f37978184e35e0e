/**
 * The video room over the signaling protocol of docs/video.md: join through the waiting room,
 * admit, chat, recording consent and indicator, screen share, reconnection with backoff after
 * a drop (heartbeat pings find a dead socket; a failed media link rejoins too).
 *
 * Screen share swaps the outgoing video track on every sender (`RTCRtpSender.replaceTrack`),
 * so no renegotiation is needed and new connections send whatever is being shown at the time.
 */
import { computed, onBeforeUnmount, onMounted, ref, type Ref } from 'vue'
import { api } from '../lib/api'
import { session } from '../lib/session'
import { has, t } from '../i18n'
import { FINAL_CLOSE_CODES, Reconnector, shouldReconnect, signalingErrorText, type SignalingError } from '../lib/room'
import { useLocalMedia } from './useLocalMedia'
import { usePeerConnections, type SignalingMessage } from './usePeerConnections'
import { useJanusRoom, type SfuMessage } from './useJanusRoom'

export interface Participant {
  peer: string
  user_id: string
  name: string
  host: boolean
  state: string
  consent?: boolean | null
  /** a lecture: since when the hand is raised (null: not raised), and the leave to speak */
  hand?: string | null
  speaking?: boolean
}
export interface ChatLine {
  name: string
  text: string
  at: string
}

const PING_EVERY_MS = 15_000
const SILENT_MS = 10_000 // no answer to a ping for this long: the socket is dead

export function useRoomConnection(roomId: Ref<string>) {
  const phase = ref<'check' | 'waiting' | 'in' | 'denied' | 'left' | 'closed'>('check')
  const link = ref<'idle' | 'connecting' | 'connected' | 'reconnecting'>('idle')
  const attempt = ref(0)
  const isHost = ref(false)
  const myPeer = ref('')
  const waiting = ref<Participant[]>([])
  const participants = ref<Participant[]>([])
  const chat = ref<ChatLine[]>([])
  const draft = ref('')
  const sharing = ref(false)
  const recording = ref(false)
  const consent = ref<boolean | null>(null)
  const mode = ref('p2p') // p2p | relay | janus (the room's topology)
  const kind = ref('consultation') // consultation | training (a lecture)
  const error = ref('')
  const detail = ref('')
  const media = useLocalMedia({ error, checking: () => phase.value === 'check' })
  const { local, stream } = media
  let ws: WebSocket | null = null
  let iceServers: RTCIceServer[] = []
  // The STUN/TURN list of the current socket attempt: needed to make connections, not to join
  let iceReady: Promise<void> = Promise.resolve()
  let leaving = false
  let screenTrack: MediaStreamTrack | null = null
  let pingTimer: ReturnType<typeof setInterval> | null = null
  let lastHeard = 0
  const reconnector = new Reconnector(() => void open())
  const peers = usePeerConnections({
    send,
    iceServers: () => iceServers,
    stream,
    outgoingVideo,
    nameOf: (peer) => participants.value.find((p) => p.peer === peer)?.name,
    onMeshFailed: () => dropped(),
  })
  const janus = useJanusRoom({
    stream,
    outgoingVideo,
    iceServers: () => iceServers,
    remotes: peers.remotes,
    nameOf: (userId) => participants.value.find((p) => p.user_id === userId)?.name,
    pcs: peers.pcs,
    onError: (code, text) => fail(code, text),
  })
  const lecture = computed(() => kind.value === 'training')
  /** A lecture's raised hands, first raised first (the presenter lets one of them speak). */
  const hands = computed(() => participants.value.filter((p) => p.hand).sort((a, b) => String(a.hand).localeCompare(String(b.hand))))
  const me = computed(() => participants.value.find((p) => p.user_id === session.user?.id))

  // The e2e tests read getStats() of every connection and drop the socket through these hooks.
  const hooks = window as unknown as {
    __telemedPeers: Map<string, RTCPeerConnection>
    __telemedRoom: { drops: number; socket: () => WebSocket | null; screenTrack: () => MediaStreamTrack | null; cameraTrack: () => MediaStreamTrack | undefined }
  }
  hooks.__telemedPeers = peers.pcs
  hooks.__telemedRoom = { drops: 0, socket: () => ws, screenTrack: () => screenTrack, cameraTrack: () => stream.value?.getVideoTracks()[0] }

  const reconnectingPeers = computed(() => participants.value.filter((p) => p.state === 'reconnecting'))

  function fail(code: string, text = '', params: Record<string, string | number> = {}) {
    error.value = has(`room.errors.${code}`) ? t(`room.errors.${code}`, params) : has(`errors.${code}`) ? t(`errors.${code}`) : t('errors.generic', { status: code })
    detail.value = text
  }

  /** What we send as video: the shared screen while sharing, else the camera. */
  function outgoingVideo(): MediaStreamTrack | undefined {
    return screenTrack ?? stream.value?.getVideoTracks()[0]
  }

  function send(msg: Record<string, unknown>) {
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg))
  }

  // ---------------------------------------------------------------- signaling

  function admitted(list: Participant[]) {
    phase.value = 'in'
    media.stopMeter()
    if (mode.value === 'janus') return // Janus forwards: no browser-to-browser offers
    for (const p of list ?? []) if (p.peer !== myPeer.value) void iceReady.then(() => peers.offerTo(p.peer))
  }

  function joined(msg: SignalingMessage) {
    myPeer.value = msg.peer
    isHost.value = !!msg.host
    mode.value = msg.room?.mode ?? 'p2p'
    kind.value = msg.room?.kind ?? 'consultation'
    recording.value = !!msg.recording // a recording already running (e.g. after a reconnect)
    participants.value = msg.participants ?? []
    link.value = 'connected'
    attempt.value = 0
    reconnector.succeeded()
    const me = participants.value.find((p) => p.peer === msg.peer)
    if (me && me.consent !== undefined && me.consent !== null) consent.value = me.consent
    if (msg.state === 'admitted') admitted(msg.peers)
    else phase.value = 'waiting'
  }

  async function onMessage(msg: SignalingMessage) {
    // Connections wait for the ICE servers; all such messages await the same promise, so
    // they still run in the order they came (an offer's connection exists before its candidates).
    if (msg.type === 'offer' || msg.type === 'answer' || msg.type === 'candidate') await iceReady
    switch (msg.type) {
      case 'joined':
        joined(msg)
        break
      case 'admit':
        admitted(msg.peers)
        break
      case 'deny':
        phase.value = 'denied'
        break
      case 'waiting':
        waiting.value = msg.waiting ?? []
        break
      case 'participants':
        participants.value = msg.participants ?? []
        peers.rename()
        janus.rename()
        break
      case 'sfu':
        await iceReady
        await janus.start(msg as unknown as SfuMessage)
        break
      case 'speak':
        if (msg.user_id === session.user?.id && !isHost.value) await janus.publish(msg.allowed ? 'audio' : 'none')
        break
      case 'offer':
        await peers.answer(msg)
        break
      case 'answer': {
        const pc = peers.connOf(msg)
        if (pc?.signalingState === 'have-local-offer') await pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp })
        break
      }
      case 'candidate':
        if (msg.candidate) await peers.connOf(msg)?.addIceCandidate(msg.candidate).catch(() => undefined)
        break
      case 'bye':
        if (msg.peer) peers.closePeer(msg.peer)
        break
      case 'consent':
        participants.value = participants.value.map((p) => (p.user_id === msg.user_id ? { ...p, consent: msg.granted } : p))
        if (msg.user_id === session.user?.id) consent.value = msg.granted
        break
      case 'chat':
        chat.value = [...chat.value, { name: msg.name, text: msg.text, at: msg.at }]
        break
      case 'recording':
        recording.value = msg.state === 'started'
        if (msg.state === 'failed') fail('recording_failed', msg.reason ?? '')
        break
      case 'error': {
        const shown = signalingErrorText(msg as SignalingError)
        fail(shown.key, msg.detail, shown.params)
        break
      }
    }
  }

  /** Open a socket and join (first entry and every reconnection attempt). */
  async function open() {
    if (leaving) return
    link.value = link.value === 'reconnecting' ? 'reconnecting' : 'connecting'
    // Fetched while the socket opens and joins (not before: one round trip less on every join);
    // offline or the server restarting: keep the servers we had, the socket attempt decides.
    iceReady = api
      .get<{ ice_servers: RTCIceServer[] }>(`/rooms/${roomId.value}/ice-servers`)
      .then((ice) => { iceServers = ice.ice_servers }, () => undefined)
    const proto = location.protocol === 'https:' ? 'wss' : 'ws'
    const sock = new WebSocket(`${proto}://${location.host}/api/v1/rooms/${roomId.value}/ws`)
    ws = sock
    sock.onopen = () => {
      lastHeard = Date.now()
      send({ type: 'auth', token: session.token })
      send({ type: 'join' })
    }
    sock.onmessage = (ev) => {
      lastHeard = Date.now()
      void onMessage(JSON.parse(ev.data))
    }
    sock.onclose = (ev) => {
      if (ws !== sock) return // an old socket we already gave up on
      ws = null
      peers.closeAll()
      void janus.stop()
      if (phase.value === 'denied') return
      if (!shouldReconnect(ev.code, leaving)) {
        if (!leaving) {
          link.value = 'idle'
          phase.value = 'closed'
          fail(`closed_${FINAL_CLOSE_CODES[ev.code] ?? ev.code}`, ev.reason)
        }
        return
      }
      lost()
    }
  }

  /**
   * Rejoin with a new socket and new connections after a drop (the server keeps our place
   * for the reconnect grace period), after a backoff delay.
   */
  function lost() {
    hooks.__telemedRoom.drops += 1
    peers.closeAll()
    void janus.stop()
    link.value = 'reconnecting'
    reconnector.schedule()
    attempt.value = reconnector.attempt
  }

  /** The socket or a media link died: give the socket up (without waiting for its close handshake) and reconnect. */
  function dropped() {
    if (leaving || link.value === 'idle') return
    const sock = ws
    ws = null
    sock?.close()
    lost()
  }

  function heartbeat() {
    if (ws?.readyState !== WebSocket.OPEN) return
    if (Date.now() - lastHeard > PING_EVERY_MS + SILENT_MS) dropped()
    else send({ type: 'ping' })
  }

  function online() {
    // The network is back: try now instead of waiting out the backoff.
    if (link.value === 'reconnecting' && reconnector.pending) {
      reconnector.cancel()
      void open()
    }
  }

  async function join() {
    error.value = ''
    leaving = false
    if (!stream.value) await media.startCamera()
    await open()
    pingTimer ??= setInterval(heartbeat, PING_EVERY_MS)
  }

  function reconnectNow() {
    reconnector.cancel()
    void open()
  }

  function leave() {
    leaving = true
    reconnector.cancel()
    send({ type: 'bye' })
    ws?.close(1000)
    ws = null
    peers.closeAll()
    void janus.stop()
    link.value = 'idle'
    if (pingTimer) clearInterval(pingTimer)
    pingTimer = null
    phase.value = 'left'
  }

  // ---------------------------------------------------------------- controls

  /** Send `track` as video on every connection that sends, and preview it. */
  async function replaceVideo(track: MediaStreamTrack | undefined) {
    if (!track) return
    await peers.sendVideo(track)
    await janus.sendVideo(track)
    if (local.value) local.value.srcObject = track === screenTrack ? new MediaStream([track]) : stream.value
  }

  async function startShare() {
    let screen: MediaStream
    try {
      screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false })
    } catch (e) {
      error.value = t('room.noScreen', { detail: String(e) })
      return
    }
    screenTrack = screen.getVideoTracks()[0]
    screenTrack.onended = () => void stopShare() // the browser's own "stop sharing"
    sharing.value = true
    await replaceVideo(screenTrack)
  }

  async function stopShare() {
    const old = screenTrack
    screenTrack = null
    sharing.value = false
    await replaceVideo(stream.value?.getVideoTracks()[0])
    old?.stop()
  }

  function toggleShare() {
    void (sharing.value ? stopShare() : startShare())
  }

  function sendChat() {
    const text = draft.value.trim()
    if (!text) return
    send({ type: 'chat', text })
    draft.value = ''
  }

  function raiseHand(raised: boolean) {
    send({ type: 'hand', raised })
  }

  function letSpeak(userId: string, allowed: boolean) {
    send({ type: 'speak', user_id: userId, allowed })
  }

  function giveConsent(granted: boolean) {
    consent.value = granted
    send({ type: 'consent', granted })
  }

  onMounted(() => window.addEventListener('online', online))
  onBeforeUnmount(() => {
    window.removeEventListener('online', online)
    leave()
    media.stopMeter()
    screenTrack?.stop()
    media.stopTracks()
  })

  const { remotes } = peers
  const { speaker, publishing } = janus
  return {
    media, phase, link, attempt, isHost, waiting, participants, reconnectingPeers, remotes, chat, draft, sharing, recording, consent, error, detail,
    mode, lecture, hands, me, speaker, publishing,
    send, join, leave, reconnectNow, toggleShare, sendChat, giveConsent, raiseHand, letSpeak,
  }
}
