"""The engine: turns a pipeline, an inventory and params into a run's events."""
