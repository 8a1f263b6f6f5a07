"""The job engine: the Huey queue, the tasks, and the job lifecycle."""
