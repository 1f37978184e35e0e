import { describe, expect, it } from 'vitest'
import { Reconnector, backoffDelay, connectionKey, keyPeer, shouldReconnect, shownPeer, type Timers } from '../src/lib/room'

/** Timers driven by the test: advance() runs what is due. */
function fakeTimers() {
  let now = 1_000
  let seq = 0
  const due = new Map<number, { at: number; fn: () => void }>()
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      seq += 1
      due.set(seq, { at: now + ms, fn })
      return seq
    },
    clearTimeout: (h) => void due.delete(h as number),
    now: () => now,
  }
  const advance = (ms: number) => {
    now += ms
    for (const [id, t] of [...due.entries()].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at <= now) {
        due.delete(id)
        t.fn()
      }
    }
  }
  return { timers, advance, pending: () => due.size }
}

describe('backoff', () => {
  it('doubles from the base up to the cap, with half of each delay random', () => {
    const low = (n: number) => backoffDelay(n, { base: 500, cap: 10_000, random: () => 0 })
    const high = (n: number) => backoffDelay(n, { base: 500, cap: 10_000, random: () => 1 })
    expect([0, 1, 2, 3, 4, 5, 9].map(low)).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000])
    expect([0, 1, 2, 3, 4, 5, 9].map(high)).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000])
  })

  it('stays within its bounds for any random value', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const d = backoffDelay(attempt)
      expect(d).toBeGreaterThanOrEqual(Math.min(10_000, 500 * 2 ** attempt) / 2)
      expect(d).toBeLessThanOrEqual(10_000)
    }
  })
})

describe('close codes', () => {
  it('reconnects after a drop, not after leaving, a refusal or being replaced', () => {
    expect(shouldReconnect(1006, false)).toBe(true) // abnormal closure: network cut
    expect(shouldReconnect(1005, false)).toBe(true) // closed without a code
    expect(shouldReconnect(1012, false)).toBe(true) // server restart
    expect(shouldReconnect(4400, false)).toBe(true) // no join in time: try again
    expect(shouldReconnect(1000, true)).toBe(false) // our own bye
    for (const code of [4401, 4403, 4404, 4409, 4410, 4413, 4429]) expect(shouldReconnect(code, false)).toBe(false)
  })
})

describe('Reconnector', () => {
  it('runs one attempt per schedule after the backoff delay and resets on success', () => {
    const { timers, advance, pending } = fakeTimers()
    let runs = 0
    const r = new Reconnector(() => (runs += 1), { base: 100, cap: 1000, random: () => 1 }, timers)
    expect(r.schedule()).toBe(100)
    expect(r.schedule()).toBe(100) // already pending: no second timer
    expect(pending()).toBe(1)
    expect(r.nextAt).toBe(1_100)
    advance(99)
    expect(runs).toBe(0)
    advance(1)
    expect(runs).toBe(1)
    expect(r.pending).toBe(false)
    expect(r.schedule()).toBe(200) // the attempt failed: wait longer
    advance(200)
    expect(r.schedule()).toBe(400)
    advance(400)
    expect(runs).toBe(3)
    r.succeeded()
    expect(r.attempt).toBe(0)
    expect(r.schedule()).toBe(100)
  })

  it('cancel drops the pending attempt', () => {
    const { timers, advance, pending } = fakeTimers()
    let runs = 0
    const r = new Reconnector(() => (runs += 1), { base: 100, random: () => 0 }, timers)
    r.schedule()
    r.cancel()
    advance(10_000)
    expect(runs).toBe(0)
    expect(pending()).toBe(0)
    expect(r.nextAt).toBeNull()
  })
})

describe('connection keys', () => {
  it('keys mesh connections by peer and server-peer ones by purpose and source', () => {
    expect(connectionKey('p1')).toBe('p1')
    expect(connectionKey('server-1', 'upstream')).toBe('server-1|upstream|')
    expect(connectionKey('server-1', 'downstream', 'p2')).toBe('server-1|downstream|p2')
    expect(keyPeer('server-1|downstream|p2')).toBe('server-1')
    expect(keyPeer('p1')).toBe('p1')
    expect(shownPeer('server-1', 'downstream', 'p2')).toBe('p2')
    expect(shownPeer('server-1', 'upstream')).toBeNull()
    expect(shownPeer('p1', 'mesh')).toBe('p1')
  })
})

describe('the host’s waiting alert and the context', () => {
  it('counts the waiting in the title and sounds only for someone new', async () => {
    const { newArrival, waitingTitle, ageOn } = await import('../src/lib/room')
    expect(waitingTitle('远程医疗', '有人等候', 2)).toBe('(2) 有人等候 · 远程医疗')
    expect(waitingTitle('远程医疗', '有人等候', 0)).toBe('远程医疗')
    expect(newArrival([], ['a'])).toBe(true)
    expect(newArrival(['a', 'b'], ['b'])).toBe(false)
    expect(newArrival(['a'], ['a', 'c'])).toBe(true)
    expect(ageOn('1962-12-04', '2026-12-03')).toBe(63)
    expect(ageOn('1962-12-03', '2026-12-03')).toBe(64)
  })
})
