import { describe, expect, it } from 'vitest'
import { emptyOrder, orderBody } from '../src/lib/imagingOrders'

describe('imaging order of a request', () => {
  it('sends nothing when no order is requested', () => {
    expect(orderBody(emptyOrder())).toEqual({ body: null, errors: {} })
  })

  it('turns the Shanghai wall-clock time into UTC and trims the procedure', () => {
    const draft = { requested: true, modality: 'MR', scheduled: '2026-12-04T09:30', procedure: '  头颅 MR 平扫 ' }
    expect(orderBody(draft).body).toEqual({ modality: 'MR', scheduled_at: '2026-12-04T01:30:00.000Z', procedure: '头颅 MR 平扫' })
  })

  it('leaves the time to the server (now) when none is given', () => {
    expect(orderBody({ ...emptyOrder(), requested: true }).body).toEqual({ modality: 'CT', scheduled_at: null, procedure: '' })
  })

  it('names the wrong fields', () => {
    const { body, errors } = orderBody({ requested: true, modality: 'XX', scheduled: 'tomorrow', procedure: 'x'.repeat(65) })
    expect(body).toBeNull()
    expect(errors).toEqual({
      modality: 'imagingOrder.modalityRequired',
      scheduled_at: 'imagingOrder.timeInvalid',
      procedure: 'imagingOrder.procedureTooLong',
    })
  })
})
