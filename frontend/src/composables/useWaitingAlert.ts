/**
 * The host's alert when someone waits to be admitted: the document title counts them and a
 * short tone sounds for each new arrival. Browsers let audio start only after a user gesture
 * (autoplay rules), so `unlock()` creates the AudioContext from the join button's click; a
 * context the browser keeps suspended stays silent and the banner and title still show.
 */
import { onBeforeUnmount, watch, type Ref } from 'vue'
import { t } from '../i18n'
import { newArrival, waitingTitle } from '../lib/room'

export function useWaitingAlert(waiting: Ref<{ user_id: string }[]>, isHost: Ref<boolean>) {
  const base = document.title
  let audio: AudioContext | null = null
  let beeps = 0

  function unlock() {
    const Ctx = window.AudioContext
    if (!Ctx) return
    try {
      audio ??= new Ctx()
      void audio.resume()
    } catch {
      audio = null
    }
  }

  function tone() {
    if (!audio || audio.state !== 'running') return
    const osc = audio.createOscillator()
    const gain = audio.createGain()
    osc.frequency.value = 880
    gain.gain.setValueAtTime(0.15, audio.currentTime)
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4)
    osc.connect(gain).connect(audio.destination)
    osc.start()
    osc.stop(audio.currentTime + 0.4)
    beeps += 1
    ;(window as unknown as { __telemedWaitingBeeps?: number }).__telemedWaitingBeeps = beeps
  }

  watch(
    () => (isHost.value ? waiting.value.map((w) => w.user_id) : []),
    (now, before) => {
      document.title = waitingTitle(base, t('room.waitingTitle'), now.length)
      if (newArrival(before ?? [], now)) tone()
    },
  )

  onBeforeUnmount(() => {
    document.title = base
    void audio?.close().catch(() => undefined)
  })

  return { unlock }
}
