"""Renderers: run state and output as people and programs read them (text, JSON, reports,
recordings, progress), every untrusted byte through the sanitizer."""
