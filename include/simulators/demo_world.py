"""The demo's world: the seeds and sizes ``make demo`` gives its simulators (as command-line
arguments), shared with the process tests so the browser check's screenshots show the demo's
numbers."""

CREDLY_WORLD = ["--seed", "7", "--templates", "6", "--learners", "40", "--badges", "30"]
CREDLY_WORLD += ["--earner-id-share", "0.66"]  # a third of the badges issued outside credly-sync
DOCEBO_WORLD = ["--seed", "7", "--learners", "40"]
# the course badges a Docebo admin picks in the demo's dropdown before lms_to_credly
COURSE_BADGES = {101: "Python Foundations Level 1", 102: "Data Engineering Level 1"}
