import { afterEach, describe, expect, it } from 'vitest'
import { useAction, useKeyedAction, type ShowsErrors } from '../src/composables/useAction'
import { useFormErrors } from '../src/lib/forms'
import { ApiError } from '../src/lib/problem'
import { setLocale, t } from '../src/i18n'

/** An action the test finishes by hand, to look at `busy` while it runs. */
function pending<T>() {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Records what it was asked to show. */
function recorder(): ShowsErrors & { calls: unknown[][] } {
  const calls: unknown[][] = []
  return { calls, show: (...args: unknown[]) => void calls.push(args) }
}

const conflict = new ApiError({ status: 409, code: 'no_active_contract', detail: 'no contract' })

afterEach(() => setLocale('zh-CN'))

describe('useAction', () => {
  it('is busy while the action runs and returns its result', async () => {
    const { busy, run } = useAction(recorder())
    const job = pending<number>()
    expect(busy.value).toBe(false)
    const done = run(() => job.promise)
    expect(busy.value).toBe(true)
    job.resolve(7)
    expect(await done).toBe(7)
    expect(busy.value).toBe(false)
  })

  it('shows a failure with the fields of the form and is no longer busy', async () => {
    const errors = recorder()
    const { busy, run } = useAction(errors)
    const job = pending<number>()
    const done = run(() => job.promise, { fields: ['reason'], codeFields: { no_active_contract: 'patient_id' } })
    expect(busy.value).toBe(true)
    job.reject(conflict)
    expect(await done).toBeUndefined()
    expect(busy.value).toBe(false)
    expect(errors.calls).toEqual([[conflict, ['reason'], { no_active_contract: 'patient_id' }]])
  })

  it('turns a problem into the message of its code in the user language', async () => {
    setLocale('en')
    const errors = useFormErrors()
    const { run } = useAction(errors)
    await run(async () => {
      throw new ApiError({ status: 0, detail: 'offline' })
    })
    expect(errors.state.message).toBe(t('errors.network'))
    expect(errors.state.message).not.toBe('')
    expect(errors.state.detail).toBe('offline')
  })

  it('shows a failure where the options say, or lets the caller handle it', async () => {
    const mine = recorder()
    const other = recorder()
    const { run } = useAction(mine)
    await run(() => Promise.reject(conflict), { errors: other, fields: ['summary'] })
    expect(other.calls).toEqual([[conflict, ['summary'], undefined]])
    const handled: unknown[] = []
    await run(() => Promise.reject(conflict), { onError: (e) => handled.push(e) })
    expect(handled).toEqual([conflict])
    expect(mine.calls).toEqual([])
  })

  it('shares one busy flag between the actions of a form', async () => {
    const { busy, run } = useAction()
    const first = pending<void>()
    const running = run(() => first.promise)
    expect(busy.value).toBe(true)
    first.resolve()
    await running
    await run(() => Promise.reject(new Error('boom'))) // no errors to show it on: swallowed
    expect(busy.value).toBe(false)
  })
})

describe('useKeyedAction', () => {
  it('names the row that is busy and clears it however the action ends', async () => {
    const errors = recorder()
    const { busy, run } = useKeyedAction(errors)
    const job = pending<string>()
    const done = run('slot-1', () => job.promise)
    expect(busy.value).toBe('slot-1')
    job.resolve('ok')
    expect(await done).toBe('ok')
    expect(busy.value).toBe('')
    await run('slot-2', () => Promise.reject(conflict))
    expect(busy.value).toBe('')
    expect(errors.calls).toEqual([[conflict, undefined, undefined]])
  })
})
