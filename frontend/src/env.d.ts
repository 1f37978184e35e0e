/// <reference types="vite/client" />
import type { t } from './i18n'
import type { formatDate, formatDateTime } from './lib/time'

declare module 'vue' {
  interface ComponentCustomProperties {
    $t: typeof t
    $dt: typeof formatDateTime
    $d: typeof formatDate
  }
}

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    roles?: import('./lib/session').Role[] | 'all'
    needs?: string
  }
}

export {}
