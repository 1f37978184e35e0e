/**
 * The busy flag around an asynchronous form action: set while it runs, cleared however it
 * ends; a failure goes to the form's errors (problem details -> message in the user's
 * language, field errors next to their fields) unless the caller handles it.
 */
import { ref, type Ref } from 'vue'

/** What shows a failure: `useFormErrors()` (lib/forms) or anything with its `show`. */
export interface ShowsErrors {
  show(err: unknown, known?: string[], codeFields?: Record<string, string>): void
}

export interface ActionOptions {
  /** where the failure is shown, instead of the errors the composable was made with */
  errors?: ShowsErrors
  /** the fields this form shows, so that their errors appear next to them */
  fields?: string[]
  /** problems without a field (409 `code`) shown next to the field they are about */
  codeFields?: Record<string, string>
  /** handle the failure here instead of showing it */
  onError?: (err: unknown) => void
}

/** Runs `fn` between `start` and `end`; its result, or undefined when it failed. */
async function attempt<T>(
  fn: () => Promise<T>,
  opts: ActionOptions,
  errors: ShowsErrors | undefined,
  start: () => void,
  end: () => void,
): Promise<T | undefined> {
  start()
  try {
    return await fn()
  } catch (e) {
    if (opts.onError) opts.onError(e)
    else (opts.errors ?? errors)?.show(e, opts.fields, opts.codeFields)
    return undefined
  } finally {
    end()
  }
}

/** A boolean `busy` and `run(fn, options)`: `await run(async () => { ... }, { fields: [...] })`. */
export function useAction(errors?: ShowsErrors): {
  busy: Ref<boolean>
  run: <T>(fn: () => Promise<T>, opts?: ActionOptions) => Promise<T | undefined>
} {
  const busy = ref(false)
  const run = <T>(fn: () => Promise<T>, opts: ActionOptions = {}) =>
    attempt(fn, opts, errors, () => (busy.value = true), () => (busy.value = false))
  return { busy, run }
}

/**
 * Like `useAction`, but `busy` names what is running ('' when idle), for a list whose rows
 * each have their own button: `run(row.id, async () => { ... })`.
 */
export function useKeyedAction(errors?: ShowsErrors): {
  busy: Ref<string>
  run: <T>(key: string, fn: () => Promise<T>, opts?: ActionOptions) => Promise<T | undefined>
} {
  const busy = ref('')
  const run = <T>(key: string, fn: () => Promise<T>, opts: ActionOptions = {}) =>
    attempt(fn, opts, errors, () => (busy.value = key), () => (busy.value = ''))
  return { busy, run }
}
