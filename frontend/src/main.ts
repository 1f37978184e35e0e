import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router'
import { locale, t } from './i18n'
import { syncLanguageWithUser } from './lib/language'
import { formatDate, formatDateTime } from './lib/time'
import { watchCardTables } from './lib/cardTables'
import './style.css'
import './mongolian.css'

document.documentElement.lang = locale.value
syncLanguageWithUser()

const app = createApp(App)
app.config.globalProperties.$t = t
app.config.globalProperties.$dt = formatDateTime
app.config.globalProperties.$d = formatDate
app.use(router)
app.mount('#app')
watchCardTables(document.getElementById('app') ?? document.body)
