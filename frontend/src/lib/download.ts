/**
 * Files the API answers behind the bearer token (a plain link could not send it): fetched,
 * then saved through an object URL.
 */
import { requestBlob, type RequestOptions } from './api'
import { locale } from '../i18n'

/** Save `blob` as `filename`. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** Fetch `path` (accepting `accept`) and save it as `filename`. */
export async function download(
  path: string,
  filename: string,
  accept: string,
  query?: RequestOptions['query'],
): Promise<void> {
  saveBlob(await requestBlob(path, { headers: { Accept: accept }, query }), filename)
}

/** A printed document (PDF) in the language the page is shown in. */
export function downloadPdf(path: string, filename: string): Promise<void> {
  return download(path, filename, 'application/pdf', { lang: locale.value })
}
