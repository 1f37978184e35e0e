/** Patients: search, registration, resident ID: English. */
import type zh from '../zh-CN/patients'

const patients: typeof zh = {
  patients: {
    title: 'Patients',
    searchTitle: 'Find a patient',
    query: 'Name, last 4 of the resident ID, or phone',
    queryHint: 'A few characters of the name are enough; or the last 4 characters of the resident ID, or a mobile number (or its last digits). Only patients you may see are shown: registered at your institution, contracted to your team, or in a referral you take part in.',
    residentId: 'Resident ID number',
    search: 'Search',
    noResults: 'No patient found. Search by a few characters of the name, the last 4 of the resident ID, a mobile number, or the whole resident ID; residents not contracted to your team are found by their whole resident ID only.',
    registerTitle: 'Register a patient',
    name: 'Name',
    phone: 'Mobile phone',
    countyCode: 'County code',
    optional: '(optional)',
    register: 'Register',
    registered: 'Registered: {name}',
    birthDate: 'Date of birth',
    sex: 'Sex',
    idPreview: 'born {birth}, {sex}',
    searchNeedsInput: 'Enter a name, the last 4 of the resident ID, a mobile number or the whole resident ID',
    phoneFormat: 'A mobile number has 11 digits starting with 1',
    countyFormat: 'A county code has 6 digits',
    select: 'Select',
    nameRequired: 'Enter the name',
    nameMn: 'Name in Mongolian script',
    nameMnHint: 'Typed with the phone\'s Mongolian keyboard (traditional script); it can be searched for too',
    nameMnScript: 'Use letters of the traditional Mongolian script',
  },
  residentId: {
    length: 'A resident ID has 18 characters; this one has {length}',
    format: 'A resident ID is 17 digits followed by a digit or X',
    birth_date: 'The birth date {value} in this resident ID does not exist',
    check_digit: 'The check character is {got} but should be {expected}: the number is mistyped',
  },
}

export default patients
