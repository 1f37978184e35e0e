/**
 * The RTCPeerConnections of the video room, one per (remote peer, purpose, source): browsers
 * meet in a mesh (`purpose: mesh`); the server peer's `upstream` offers (it records or relays
 * us) are answered with our media, its `downstream` offers (another participant relayed)
 * receive only. What each connection receives shows as the video of the peer it is about.
 */
import { reactive, type Ref } from 'vue'
import { connectionKey, keyPeer, shownPeer, type Purpose } from '../lib/room'

interface Conn {
  pc: RTCPeerConnection
  peer: string
  purpose: Purpose
  source: string
  shows: string | null
}

/** A signaling message as parsed from the socket. */
export type SignalingMessage = Record<string, any>

export interface PeerDeps {
  send: (msg: Record<string, unknown>) => void
  iceServers: () => RTCIceServer[]
  stream: Ref<MediaStream | null>
  /** what we send as video (the shared screen while sharing, else the camera) */
  outgoingVideo: () => MediaStreamTrack | undefined
  /** the name to show under a peer's video (undefined: not among the participants) */
  nameOf: (peer: string) => string | undefined
  /** a browser-to-browser link failed */
  onMeshFailed: () => void
}

function purposeOf(msg: SignalingMessage): Purpose {
  return msg.purpose === 'upstream' || msg.purpose === 'downstream' ? msg.purpose : 'mesh'
}

export function usePeerConnections({ send, iceServers, stream, outgoingVideo, nameOf, onMeshFailed }: PeerDeps) {
  const pcs = new Map<string, RTCPeerConnection>()
  const conns = new Map<string, Conn>()
  const remotes = reactive<Record<string, { name: string; stream: MediaStream }>>({})

  function connection(peer: string, purpose: Purpose = 'mesh', source = ''): RTCPeerConnection {
    const key = connectionKey(peer, purpose, source)
    const existing = conns.get(key)
    if (existing) return existing.pc
    const pc = new RTCPeerConnection({ iceServers: iceServers() })
    const shows = shownPeer(peer, purpose, source)
    conns.set(key, { pc, peer, purpose, source, shows })
    pcs.set(key, pc)
    if (purpose !== 'downstream' && stream.value) {
      for (const track of stream.value.getAudioTracks()) pc.addTrack(track, stream.value)
      const video = outgoingVideo()
      if (video) pc.addTrack(video, stream.value)
    }
    const echo = purpose === 'mesh' ? { purpose } : { purpose, source: source || undefined }
    pc.onicecandidate = (ev) => send({ type: 'candidate', to: peer, candidate: ev.candidate ? ev.candidate.toJSON() : null, ...echo })
    pc.ontrack = (ev) => {
      if (!shows) return
      remotes[shows] = { name: nameOf(shows) ?? '', stream: ev.streams[0] ?? new MediaStream([ev.track]) }
    }
    pc.onconnectionstatechange = () => {
      // aiortc has no ICE restart and the protocol rejoins instead: a failed browser-to-browser
      // link makes the whole room reconnect (new socket, new connections).
      if (pc.connectionState === 'failed' && conns.get(key)?.pc === pc && purpose === 'mesh') onMeshFailed()
    }
    return pc
  }

  function closeConn(key: string) {
    const c = conns.get(key)
    if (!c) return
    c.pc.close()
    conns.delete(key)
    pcs.delete(key)
    if (c.shows && ![...conns.values()].some((o) => o.shows === c.shows)) delete remotes[c.shows]
  }

  function closePeer(peer: string) {
    for (const key of [...conns.keys()]) if (keyPeer(key) === peer) closeConn(key)
    delete remotes[peer]
  }

  function closeAll() {
    for (const key of [...conns.keys()]) closeConn(key)
  }

  async function offerTo(peer: string) {
    const pc = connection(peer)
    await pc.setLocalDescription(await pc.createOffer())
    send({ type: 'offer', to: peer, sdp: pc.localDescription!.sdp, purpose: 'mesh' })
  }

  async function answer(msg: SignalingMessage) {
    const purpose = purposeOf(msg)
    const source = String(msg.source ?? '')
    closeConn(connectionKey(msg.from, purpose, source)) // a new offer replaces the connection
    const pc = connection(msg.from, purpose, source)
    await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp })
    await pc.setLocalDescription(await pc.createAnswer())
    const echo = purpose === 'mesh' ? { purpose } : { purpose, source: msg.source }
    send({ type: 'answer', to: msg.from, sdp: pc.localDescription!.sdp, ...echo })
  }

  /** The connection an `answer` or `candidate` message is about. */
  function connOf(msg: SignalingMessage): RTCPeerConnection | undefined {
    return conns.get(connectionKey(msg.from, purposeOf(msg), String(msg.source ?? '')))?.pc
  }

  /** Send `track` as video on every connection that sends (mesh and upstream). */
  async function sendVideo(track: MediaStreamTrack) {
    for (const c of conns.values()) {
      if (c.purpose === 'downstream') continue
      const tx = c.pc.getTransceivers().find((x) => x.receiver.track.kind === 'video' && x.currentDirection !== 'stopped')
      if (tx) await tx.sender.replaceTrack(track)
    }
  }

  /** Our peers' new names under their videos. */
  function rename() {
    for (const [peer, r] of Object.entries(remotes)) r.name = nameOf(peer) ?? r.name
  }

  return { pcs, remotes, closePeer, closeAll, offerTo, answer, connOf, sendVideo, rename }
}
