"""The job engine: the core app every task runs in, the Huey queue and tasks, the lease
(claim, heartbeat, fenced checkpoint, reaper), the one runner loop, and the worker."""
