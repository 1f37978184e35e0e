/**
 * The camera and microphone of the video room: the preview, the check before joining
 * (camera seen, microphone level) and mute / camera off.
 */
import { nextTick, ref, type Ref } from 'vue'
import { t } from '../i18n'

export interface LocalMediaOptions {
  /** where a refused camera or microphone is said */
  error: Ref<string>
  /** whether the check is still on screen (the level meter stops when it is not) */
  checking: () => boolean
}

export function useLocalMedia({ error, checking }: LocalMediaOptions) {
  const local = ref<HTMLVideoElement | null>(null)
  const stream = ref<MediaStream | null>(null)
  const micLevel = ref(0)
  const micHeard = ref(false)
  const cameraSeen = ref(false)
  const muted = ref(false)
  const cameraOff = ref(false)
  let audioCtx: AudioContext | null = null
  let meterFrame = 0

  async function startCamera() {
    error.value = ''
    if (stream.value) return // checked already: the preview and the meter keep running
    try {
      stream.value = await navigator.mediaDevices.getUserMedia({ video: true, audio: true })
      await nextTick()
      if (local.value) {
        local.value.srcObject = stream.value
        local.value.onloadeddata = () => (cameraSeen.value = (local.value?.videoWidth ?? 0) > 0)
      }
      startMeter(stream.value)
    } catch (e) {
      error.value = t('room.noMedia', { detail: String(e) })
    }
  }

  /** The microphone level (0..1) for the check, from an AnalyserNode; stops when the check ends. */
  function startMeter(s: MediaStream) {
    if (!s.getAudioTracks().length || audioCtx) return
    audioCtx = new AudioContext()
    const analyser = audioCtx.createAnalyser()
    analyser.fftSize = 512
    audioCtx.createMediaStreamSource(s).connect(analyser)
    const data = new Uint8Array(analyser.fftSize)
    const tick = () => {
      analyser.getByteTimeDomainData(data)
      let peak = 0
      for (const v of data) peak = Math.max(peak, Math.abs(v - 128) / 128)
      micLevel.value = peak
      if (peak > 0.02) micHeard.value = true
      meterFrame = checking() ? requestAnimationFrame(tick) : 0
      if (!meterFrame) stopMeter()
    }
    meterFrame = requestAnimationFrame(tick)
  }

  function stopMeter() {
    if (meterFrame) cancelAnimationFrame(meterFrame)
    meterFrame = 0
    void audioCtx?.close()
    audioCtx = null
  }

  function toggleMute() {
    muted.value = !muted.value
    for (const tr of stream.value?.getAudioTracks() ?? []) tr.enabled = !muted.value
  }

  function toggleCamera() {
    cameraOff.value = !cameraOff.value
    for (const tr of stream.value?.getVideoTracks() ?? []) tr.enabled = !cameraOff.value
  }

  /** Stop the camera and the microphone (leaving the page). */
  function stopTracks() {
    for (const tr of stream.value?.getTracks() ?? []) tr.stop()
  }

  return { local, stream, micLevel, micHeard, cameraSeen, muted, cameraOff, startCamera, stopMeter, toggleMute, toggleCamera, stopTracks }
}
