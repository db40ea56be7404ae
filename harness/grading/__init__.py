"""Lab grading: an instructor's lab spec and students' submissions become points and feedback.

In progress (issue 8): the lab spec and the parser of a student's `docker run` line are here;
running the checks, the `grade` command and its report formats are not built yet.
"""
