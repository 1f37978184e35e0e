/**
 * STOW-RS upload, one request per file so each file has its own progress bar and a failed
 * file can be sent again alone (a resumable retry: what is stored stays stored).
 */
import { ApiError, toProblem } from './problem'
import { session } from './session'

export interface UploadItem {
  file: File
  name: string
  loaded: number
  total: number
  state: 'waiting' | 'sending' | 'done' | 'failed'
  error: string
  studyUid: string
}

export function newItems(files: FileList | File[]): UploadItem[] {
  return Array.from(files)
    .filter((f) => f.size > 0 && !f.name.startsWith('.'))
    .map((f) => ({
      file: f,
      name: (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name,
      loaded: 0,
      total: f.size,
      state: 'waiting',
      error: '',
      studyUid: '',
    }))
}

/** The study UID from a STOW-RS response (RetrieveURL ends in /studies/{uid}). */
export function studyFromStowResponse(body: unknown): string {
  const url = (body as Record<string, { Value?: string[] }> | null)?.['00081190']?.Value?.[0] ?? ''
  const m = /\/studies\/([0-9.]+)$/.exec(url)
  return m ? m[1] : ''
}

/** Build the multipart/related body around one Part-10 file. */
export function stowBody(file: Blob, boundary: string): Blob {
  return new Blob([
    `--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`,
    file,
    `\r\n--${boundary}--\r\n`,
  ])
}

/** Send one file; `onProgress` sees the bytes sent. */
export function stowFile(item: UploadItem, patientId: string | null, onProgress: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const boundary = `telemed-${Math.random().toString(16).slice(2)}`
    const xhr = new XMLHttpRequest()
    const q = patientId ? `?patient_id=${encodeURIComponent(patientId)}` : ''
    xhr.open('POST', `/dicom-web/studies${q}`)
    xhr.setRequestHeader('Content-Type', `multipart/related; type="application/dicom"; boundary=${boundary}`)
    xhr.setRequestHeader('Accept', 'application/dicom+json')
    if (session.token) xhr.setRequestHeader('Authorization', `Bearer ${session.token}`)
    xhr.upload.onprogress = (ev) => {
      item.loaded = ev.loaded
      item.total = ev.total || item.total
      onProgress()
    }
    xhr.onerror = () => reject(new ApiError({ status: 0, code: 'network', detail: 'upload failed' }))
    xhr.onload = () => {
      let body: unknown = null
      try {
        body = JSON.parse(xhr.responseText)
      } catch {
        body = null
      }
      if (xhr.status === 200) resolve(studyFromStowResponse(body))
      else reject(new ApiError(toProblem(xhr.status, body, xhr.responseText)))
    }
    xhr.send(stowBody(item.file, boundary))
  })
}
