"""The service's background parts: the worker (runs jobs) and the scheduler (fires definitions)."""
