"""Lab grading: an instructor's lab spec and students' submissions become points and feedback.

In progress (issue 8). Built: the lab spec (`lab`), a student's `docker run` line as a
`ContainerSpec` (`run_line`), the `answer` check (`answers`), results and scores (`results`), and
the report formats (`reports`). Not built yet: running the container and Dockerfile checks
against the engine, the `grade` command, `pytest -m grading`, and the example lab.
"""
