export default {
  training: {
    title: 'Remote training',
    catalogue: 'Course catalogue',
    none: 'No courses yet',
    credits: '{n} credits (class II)',
    places: '{n}/{capacity} places left',
    enrolled: 'Enrolled',
    enrol: 'Enrol',
    unenrol: 'Cancel enrolment',
    mine: 'My courses',
    noneMine: 'Not enrolled in any course',
    attended: 'Attended or watched {pct}%',
    certificates: 'My certificates',
    noneCertificates: 'No certificates yet',
    download: 'Download certificate',
  },
}
