"""The project's own tests: the course is consistent, the suite has power, the grader holds."""
