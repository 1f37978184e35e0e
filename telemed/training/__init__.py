"""Remote training (远程培训): the course catalogue, enrolment, attendance and
continuing-education credit (继续医学教育学分). See docs/training.md."""
