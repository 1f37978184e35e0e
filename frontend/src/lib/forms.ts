/** Form state helpers: map an API problem onto the fields it names, keep what was typed. */
import { reactive } from 'vue'
import { has, t } from '../i18n'
import { ApiError, problemMessage } from './problem'

export interface FormErrors {
  fields: Record<string, string>
  message: string
  detail: string
}

export function useFormErrors() {
  const state = reactive<FormErrors>({ fields: {}, message: '', detail: '' })
  return {
    state,
    clear() {
      state.fields = {}
      state.message = ''
      state.detail = ''
    },
    /**
     * Show `err`: each named field gets a message in the user's language followed by the
     * server's words; the rest goes to the banner. `known` lists the fields this form shows.
     */
    show(err: unknown, known: string[] = []) {
      state.fields = {}
      state.message = problemMessage(err, t, has)
      state.detail = err instanceof ApiError ? err.detail : String(err)
      if (err instanceof ApiError) {
        for (const [field, msg] of Object.entries(err.fieldErrors)) {
          if (known.includes(field)) state.fields[field] = `${t('errors.fieldInvalid')}: ${msg}`
        }
        if (Object.keys(state.fields).length && err.status === 422) state.detail = ''
      }
    },
  }
}
