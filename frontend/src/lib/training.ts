/** Remote training (`/api/v1/training`, docs/training.md): the catalogue, enrolment, credits. */
import { api, client, ok, requestBlob, type Schemas } from './api'
import { downloadPdf } from './download'

export interface Course {
  id: string
  title: string
  speaker_name: string
  institution_name: string
  specialty_code: string
  target_tiers: string[]
  starts_at: string
  ends_at: string
  capacity: number
  enrolled_count: number
  credits: number
  materials: string
  status: string
  enrolled: boolean
  speaker_id: string
  room_id: string | null
}

export interface Enrolment {
  id: string
  course: Course
  live_seconds: number
  watched_seconds: number
  attended_share: number
  credited_at: string | null
}

export const catalogue = () => api.get<Course[]>('/training/courses')
export const myEnrolments = () => api.get<Enrolment[]>('/training/enrolments')
export const enrol = (id: string) => api.post<Enrolment>(`/training/courses/${id}/enrolment`)
export const unenrol = (id: string) => api.delete<void>(`/training/courses/${id}/enrolment`)
/** The lecture's live room, opened on the first call (its speaker or a coordinator of its hospital). */
export const openLiveRoom = (id: string) =>
  ok(client.POST('/api/v1/training/courses/{course_id}/room', { params: { path: { course_id: id } } }))
export const certificate = (id: string) => downloadPdf(`/training/courses/${id}/certificate.pdf`, `certificate-${id}.pdf`)

/** Places left in a course. */
export function placesLeft(c: Course): number {
  return Math.max(0, c.capacity - c.enrolled_count)
}

/** A finished recording of a lecture (`GET /training/courses/{id}/recordings`). */
export type LectureRecording = Schemas['LectureRecordingPublic']
/** The lecture's finished recordings: its enrolled doctors, speaker and managers (else 404 `not_enrolled`). */
export const lectureRecordings = (id: string) =>
  ok(client.GET('/api/v1/training/courses/{course_id}/recordings', { params: { path: { course_id: id } } }))
/** The recorded file (audited), behind the bearer token: played from an object URL. */
export const recordingFile = (id: string) => requestBlob(`/recordings/${id}/file`, { headers: { Accept: 'video/webm' } })
/** The furthest position reached in the recording, once the course finished (the credit rule). */
export const reportProgress = (id: string, seconds: number) =>
  ok(client.POST('/api/v1/training/courses/{course_id}/progress', {
    params: { path: { course_id: id } },
    body: { position_seconds: Math.max(0, Math.floor(seconds)) },
  }))
