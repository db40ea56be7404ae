"""Lab grading: an instructor's lab spec and students' submissions become points and feedback.

`lab` (the validated spec), `submission` (folders and scratch copies), `run_line` (a student's
`docker run` as a `ContainerSpec`), `stand_ins` (the images that run for `mysql`/`postgres`),
`survival` (`persists`/`loses` on the student's own storage), `dockerfile` (`builds`,
`max-layers`, `declares-volume` from a bounded build), `answers`, `grader` (every check of every
submission, isolated and cleaned up), `results` and `reports` (scores and their formats).
"""
