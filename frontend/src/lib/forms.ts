/** Form state helpers: map an API problem onto the fields it names, keep what was typed. */
import { reactive } from 'vue'
import { has, locale, t } from '../i18n'
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
     * Show `err`: each named field gets a message in the user's language (followed by the
     * server's words when the user reads English); the rest goes to the banner. `known` lists the fields this form shows;
     * `codeFields` puts a problem without a field (409 `code`) next to the field it is about.
     */
    show(err: unknown, known: string[] = [], codeFields: Record<string, string> = {}) {
      state.fields = {}
      state.message = problemMessage(err, t, has)
      state.detail = err instanceof ApiError ? err.detail : String(err)
      if (err instanceof ApiError) {
        for (const [field, msg] of Object.entries(err.fieldErrors)) {
          if (!known.includes(field)) continue
          state.fields[field] = locale.value === 'en' ? `${t('errors.fieldInvalid')}: ${msg}` : t('errors.fieldInvalid')
        }
        // a conflict about one field (e.g. the resident has no contract): shown next to it
        const byCode = codeFields[err.code]
        if (byCode && !state.fields[byCode]) {
          state.fields[byCode] = state.message
          state.message = ''
          return
        }
        if (Object.keys(state.fields).length && err.status === 422) state.detail = ''
      }
    },
  }
}
