/** Payment orders (`/api/v1/payment-orders`, docs/payments.md): what a patient owes, paying
 * through a provider (the sandbox's page in development), refreshing the state. */
import { client, ok, type Schemas } from './api'
import { downloadPdf } from './download'

export type PaymentOrder = Schemas['OrderPublic']
export type PayStart = Schemas['PayStartPublic']

/** States in which something is still to be paid. */
export const OWED = ['created', 'paying']

export const myOrders = () => ok(client.GET('/api/v1/payment-orders', { params: { query: { mine: true } } }))

export const ordersOf = (subjectType: string) =>
  ok(client.GET('/api/v1/payment-orders', { params: { query: { subject_type: subjectType } } }))

/** A patient's orders, for staff who may act for them (the bedside page). */
export const ordersOfPatient = (patientId: string) =>
  ok(client.GET('/api/v1/payment-orders', { params: { query: { patient_id: patientId } } }))

export const orderForBooking = (bookingId: string, key: string) =>
  ok(
    client.POST('/api/v1/payment-orders', {
      params: { header: { 'Idempotency-Key': key } },
      body: { subject_type: 'booking', subject_id: bookingId },
    }),
  )

export const refreshOrder = (id: string) =>
  ok(client.POST('/api/v1/payment-orders/{order_id}/refresh', { params: { path: { order_id: id } } }))

export const offeredProviders = () => ok(client.GET('/api/v1/payments/providers')).then((p) => p.providers)

export const payOrder = (id: string, provider: string, channel: 'h5' | 'native' | 'wap' | 'jsapi') =>
  ok(
    client.POST('/api/v1/payment-orders/{order_id}/pay', {
      params: { path: { order_id: id } },
      body: { provider, channel, return_path: `/#/payments?order=${id}` },
    }),
  )

/** States in which the order has been paid (its receipt can be printed). */
export const PAID = ['paid', 'refunding', 'refund_failed', 'refunded']

/** The receipt (缴费凭证, PDF) of a paid order, in the page's language. */
export const receipt = (o: PaymentOrder) =>
  downloadPdf(`/payment-orders/${o.id}/receipt.pdf`, `receipt-${o.order_no}.pdf`)

/** The channel a phone browser pays through at a provider. */
export function phoneChannel(provider: string, channels: string[]): 'h5' | 'wap' | 'native' {
  if (provider === 'alipay' && channels.includes('wap')) return 'wap'
  return channels.includes('h5') ? 'h5' : 'native'
}

/** Fen as yuan with two decimals. */
export const yuan = (cents: number) => (cents / 100).toFixed(2)

/** An absolute URL of a path the server answered (the sandbox's page is a path). */
export const absolute = (url: string) => new URL(url, window.location.origin).toString()
