/**
 * Which API domains this server has, read once from its OpenAPI document, so the app
 * offers only pages whose API exists (domains land one by one).
 */
import { reactive } from 'vue'

const state = reactive({ paths: new Set<string>(), loaded: false })
let loading: Promise<void> | null = null

export function loadCapabilities(): Promise<void> {
  loading ??= fetch('/openapi.json')
    .then((r) => (r.ok ? r.json() : { paths: {} }))
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
  return !path || state.paths.has(path)
}

export function capabilitiesLoaded(): boolean {
  return state.loaded
}
