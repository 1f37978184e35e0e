/** Hash routing: the static mount at "/" serves index.html and every page lives after "#". */
import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router'
import { restore } from './lib/api'
import { session, type Role } from './lib/session'
import { hasApi, loadCapabilities } from './lib/capabilities'
import { allowed, navFor, NAV } from './nav'

const pages: Record<string, () => Promise<unknown>> = {
  home: () => import('./views/HomeView.vue'),
  network: () => import('./views/NetworkView.vue'),
  patients: () => import('./views/PatientsView.vue'),
  audit: () => import('./views/AuditView.vue'),
  outbox: () => import('./views/OutboxView.vue'),
  me: () => import('./views/MeView.vue'),
  book: () => import('./views/BookView.vue'),
  appointments: () => import('./views/AppointmentsView.vue'),
  consultations: () => import('./views/ConsultationsView.vue'),
  studies: () => import('./views/StudiesView.vue'),
  reconcile: () => import('./views/ReconcileView.vue'),
  family: () => import('./views/FamilyView.vue'),
  referrals: () => import('./views/ReferralsView.vue'),
  notifications: () => import('./views/NotificationsView.vue'),
  schedules: () => import('./views/SchedulesView.vue'),
  dashboard: () => import('./views/DashboardView.vue'),
  homeBeds: () => import('./views/HomeBedsView.vue'),
  training: () => import('./views/TrainingView.vue'),
  payments: () => import('./views/PaymentsView.vue'),
  bedside: () => import('./views/BedsideView.vue'),
}

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
  ...NAV.map((n) => ({
    path: n.path,
    name: n.name,
    component: pages[n.name] as RouteRecordRaw['component'],
    meta: { roles: n.roles },
  })) as RouteRecordRaw[],
  {
    path: '/consultations/new',
    name: 'consultation-new',
    component: () => import('./views/NewConsultationView.vue'),
    meta: { roles: ['county_doctor', 'family_doctor', 'specialist'], needs: '/api/v1/consultations' },
  },
  {
    path: '/consultations/:id',
    name: 'consultation',
    component: () => import('./views/ConsultationView.vue'),
    meta: { roles: 'all', needs: '/api/v1/consultations/{consultation_id}' },
  },
  {
    path: '/viewer/:study',
    name: 'viewer',
    component: () => import('./views/ViewerView.vue'),
    meta: { roles: 'all', needs: '/dicom-web/studies/{study_uid}/series' },
  },
  {
    path: '/slide/:study',
    name: 'slide',
    component: () => import('./views/SlideView.vue'),
    meta: { roles: 'all', needs: '/dicom-web/studies/{study_uid}/series' },
  },
  {
    path: '/ecg/:study',
    name: 'ecg',
    component: () => import('./views/EcgView.vue'),
    meta: { roles: 'all', needs: '/api/v1/studies/{study_uid}/ecg' },
  },
  {
    path: '/room/:id',
    name: 'room',
    component: () => import('./views/RoomView.vue'),
    meta: { roles: 'all', needs: '/api/v1/rooms/{room_id}' },
  },
  { path: '/:pathMatch(.*)*', name: 'notfound', component: () => import('./views/NotFoundView.vue') },
]


export const router = createRouter({ history: createWebHashHistory(), routes })

router.beforeEach(async (to) => {
  await loadCapabilities()
  if (to.meta.public) return true
  if (!session.user && session.token) {
    try {
      await restore()
    } catch {
      /* network trouble: let the page show its own error */
    }
  }
  if (!session.user) return { name: 'login', query: { redirect: to.fullPath } }
  // a forced password change: nothing else until it is done (the API refuses the rest)
  if (session.user.must_change_password && to.name !== 'me') return { name: 'me' }
  if (!allowed(to.meta.roles as Role[] | 'all' | undefined, session.user.role)) return { name: 'home' }
  const inNav = NAV.some((n) => n.name === to.name)
  if (inNav && !navFor(session.user.role).some((n) => n.name === to.name)) return { name: 'home' }
  if (!hasApi(to.meta.needs)) return { name: 'home' }
  return true
})
