/** English catalogue, one file per feature; each has the shape of its Chinese one (the types enforce it). */
import type { Messages } from '../zh-CN'
import shell from './shell'
import network from './network'
import patients from './patients'
import audit from './audit'
import booking from './booking'
import consultations from './consultations'
import imaging from './imaging'
import room from './room'
import family from './family'
import referrals from './referrals'
import schedules from './schedules'
import errors from './errors'
import dashboard from './dashboard'
import pathology from './pathology'
import ecg from './ecg'
import viewer from './viewer'
import history from './history'
import training from './training'
import payments from './payments'

const en: Messages = { ...shell, ...network, ...patients, ...audit, ...booking, ...consultations, ...imaging, ...room, ...family, ...referrals, ...schedules, ...errors, ...dashboard, ...pathology, ...ecg, ...viewer, ...history, ...training, ...payments }


export default en
