/** Which pages each role sees: the single source for the router guard and the navigation. */
import type { Role } from './lib/session'
import { hasApi } from './lib/capabilities'

export interface NavItem {
  name: string
  path: string
  label: string
  roles: Role[] | 'all'
  /** An API path the page needs; the page is offered only when the server has it. */
  needs?: string
}

export const STAFF: Role[] = ['family_doctor', 'county_doctor', 'specialist', 'coordinator', 'admin']

export const NAV: NavItem[] = [
  { name: 'home', path: '/', label: 'nav.home', roles: 'all' },
  { name: 'network', path: '/network', label: 'nav.network', roles: ['coordinator', 'admin'] },
  { name: 'dashboard', path: '/dashboard', label: 'nav.dashboard', roles: ['coordinator', 'admin'], needs: '/api/v1/dashboard/network' },
  { name: 'book', path: '/book', label: 'nav.book', roles: ['patient'], needs: '/api/v1/slots' },
  { name: 'appointments', path: '/appointments', label: 'nav.appointments', roles: ['patient', ...STAFF], needs: '/api/v1/bookings' },
  { name: 'payments', path: '/payments', label: 'nav.payments', roles: ['patient'], needs: '/api/v1/payment-orders' },
  { name: 'bedside', path: '/bedside', label: 'nav.bedside', roles: ['family_doctor', 'county_doctor', 'coordinator'], needs: '/api/v1/payment-orders/{order_id}/receipt.pdf' },
  { name: 'consultations', path: '/consultations', label: 'nav.consultations', roles: ['county_doctor', 'family_doctor', 'specialist', 'coordinator', 'admin'], needs: '/api/v1/consultations' },
  { name: 'family', path: '/family', label: 'nav.family', roles: ['patient', 'family_doctor'], needs: '/api/v1/family-doctors/contracts' },
  { name: 'homeBeds', path: '/home-beds', label: 'nav.homeBeds', roles: ['family_doctor'], needs: '/api/v1/family-doctors/home-beds' },
  { name: 'referrals', path: '/referrals', label: 'nav.referrals', roles: ['patient', 'family_doctor', 'county_doctor', 'specialist', 'coordinator', 'admin'], needs: '/api/v1/referrals' },
  { name: 'notifications', path: '/notifications', label: 'nav.notifications', roles: 'all', needs: '/api/v1/notifications' },
  { name: 'schedules', path: '/schedules', label: 'nav.schedules', roles: ['coordinator'], needs: '/api/v1/schedules' },
  { name: 'studies', path: '/studies', label: 'nav.studies', roles: STAFF, needs: '/api/v1/studies' },
  { name: 'reconcile', path: '/reconcile', label: 'nav.reconcile', roles: ['county_doctor', 'family_doctor', 'specialist'], needs: '/api/v1/dicom/reconciliation' },
  { name: 'patients', path: '/patients', label: 'nav.patients', roles: STAFF },
  { name: 'audit', path: '/audit', label: 'nav.audit', roles: ['admin'] },
  { name: 'outbox', path: '/outbox', label: 'nav.outbox', roles: ['admin'], needs: '/api/v1/admin/outbox' },
  { name: 'training', path: '/training', label: 'nav.training', roles: STAFF, needs: '/api/v1/training/courses' },
  { name: 'me', path: '/me', label: 'nav.me', roles: 'all' },
]

export function allowed(roles: Role[] | 'all' | undefined, role: Role | undefined): boolean {
  if (!roles || roles === 'all') return true
  return role !== undefined && roles.includes(role)
}

export function navFor(role: Role | undefined): NavItem[] {
  return NAV.filter((n) => allowed(n.roles, role) && hasApi(n.needs))
}
