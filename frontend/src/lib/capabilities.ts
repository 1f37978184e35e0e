/**
 * Which API domains this server has, read once from its OpenAPI document, so the app
 * offers only pages whose API exists (domains land one by one).
 */
import { reactive } from 'vue'

// `all`: the server does not publish its OpenAPI document (production hides it,
// TELEMED_API_DOCS=false): every page is offered and the API answers for itself.
const state = reactive({ paths: new Set<string>(), loaded: false, all: false })
let loading: Promise<void> | null = null

export function loadCapabilities(): Promise<void> {
  loading ??= fetch('/openapi.json')
    .then((r) => {
      if (r.status === 404) state.all = true
      return r.ok ? r.json() : { paths: {} }
    })
    .then((doc: { paths?: Record<string, unknown> }) => {
      state.paths = new Set(Object.keys(doc.paths ?? {}))
      state.loaded = true
    })
    .catch(() => {
      state.loaded = true
    })
  return loading
}

/** True when the server offers `path` (exactly as OpenAPI names it, e.g. "/api/v1/slots"). */
export function hasApi(path: string | undefined): boolean {
  return !path || state.all || state.paths.has(path)
}

export function capabilitiesLoaded(): boolean {
  return state.loaded
}
