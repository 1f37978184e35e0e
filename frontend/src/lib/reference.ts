/** Reference data loaded once: specialties, leagues, institution names. Names follow the locale. */
import { reactive } from 'vue'
import { client, ok, type Schemas } from './api'
import { has, locale, t } from '../i18n'

export type Specialty = Schemas['SpecialtyPublic']
export type League = Schemas['LeaguePublic']
export type Institution = Schemas['InstitutionPublic']

const store = reactive({
  specialties: [] as Specialty[],
  leagues: [] as League[],
  institutions: {} as Record<string, Institution>,
})
let loading: Promise<void> | null = null

export function loadReference(): Promise<void> {
  loading ??= Promise.all([
    ok(client.GET('/api/v1/network/specialties')).then((s) => (store.specialties = s)),
    ok(client.GET('/api/v1/network/leagues')).then((l) => (store.leagues = l)),
  ]).then(
    () => undefined,
    (e) => {
      loading = null
      throw e
    },
  )
  return loading
}

export function localName(x: { name_zh: string; name_en?: string } | undefined | null): string {
  if (!x) return ''
  return locale.value === 'en' && x.name_en ? x.name_en : x.name_zh
}

export function specialties(): Specialty[] {
  return store.specialties
}
export function leagues(): League[] {
  return store.leagues
}
export function specialtyName(code: string | null | undefined): string {
  if (!code) return ''
  return localName(store.specialties.find((s) => s.code === code)) || code
}
export function leagueName(code: string | null | undefined): string {
  if (!code) return ''
  return localName(store.leagues.find((l) => l.code === code)) || code
}

const pendingInst = new Map<string, Promise<void>>()
/** The institution's name in the locale (loads it on first use; empty until loaded). */
export function institutionName(id: string | null | undefined): string {
  if (!id) return ''
  const inst = store.institutions[id]
  if (inst) return localName(inst)
  if (!pendingInst.has(id)) {
    pendingInst.set(
      id,
      ok(client.GET('/api/v1/network/institutions/{institution_id}', { params: { path: { institution_id: id } } })).then(
        (i) => {
          store.institutions[id] = i
        },
        () => undefined,
      ),
    )
  }
  return ''
}
export function rememberInstitutions(rows: Institution[]): void {
  for (const r of rows) store.institutions[r.id] = r
}

/** A doctor's title (职称) in the locale; unknown values as they are. */
export function doctorTitle(code: string | null | undefined): string {
  if (!code) return ''
  const key = `doctorTitle.${code}`
  return has(key) ? t(key) : code
}

type PatientShown = Pick<Schemas['PatientPublic'], 'name' | 'resident_id_masked' | 'sex' | 'birth_date'>
const patients = reactive({} as Record<string, PatientShown>)
const pendingPatients = new Set<string>()
/** A patient as `GET /patients/{id}` shows them to this user, loaded on first use (the read
 * is authorized and audited by the API); undefined until loaded or when refused. */
export function patientOf(id: string | null | undefined): PatientShown | undefined {
  if (!id) return undefined
  const p = patients[id]
  if (p) return p
  if (!pendingPatients.has(id)) {
    pendingPatients.add(id)
    ok(client.GET('/api/v1/patients/{patient_id}', { params: { path: { patient_id: id } } })).then(
      (row) => (patients[id] = row),
      () => undefined,
    )
  }
  return undefined
}
/** A patient's name, loaded on first use (see `patientOf`). */
export function patientName(id: string | null | undefined): string {
  return patientOf(id)?.name ?? ''
}
