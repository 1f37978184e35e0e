/** Audit log and notification outbox: English. */
import type zh from '../zh-CN/audit'

const audit: typeof zh = {
  audit: {
    title: 'Audit log',
    at: 'Time',
    actor: 'Actor',
    action: 'Action',
    object: 'Object',
    ip: 'IP',
    objectType: 'Object type',
    filter: 'Filter',
    total: '{n} events',
    anyAction: 'Any action',
    patient: 'Patient',
    patients: 'Patients',
    detail: 'Detail',
    refusedBecause: 'Refused: {reason}',
    listOf: 'list of {n}',
    actions: {
      read: 'Read',
      refused: 'Refused',
      create: 'Created',
      update: 'Updated',
      login: 'Login',
    },
  },
  outbox: {
    title: 'Messages not delivered',
    intro: 'SMS the provider refused after every attempt (dead letters), or still waiting. Retry once the cause is fixed.',
    status: 'Show',
    dead: 'Given up',
    pending: 'Waiting',
    total: '{n} messages',
    created: 'Queued',
    kind: 'Message',
    to: 'To',
    toPatient: 'Patient, {phone}',
    toPatientNoPhone: 'Patient (no phone)',
    toAccount: 'Account',
    attempts: 'Attempts',
    lastError: 'Last error',
    retry: 'Retry',
    requeued: 'Queued again',
  },
}

export default audit
