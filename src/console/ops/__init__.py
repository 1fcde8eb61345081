"""The application layer: what people do with runs, whichever client they use.

The command line, the console and the demo call these use cases and nothing below them:
launching (`launch`), reading runs (`runs`), deciding gates (`decide`), cancelling
(`cancel`), re-running (`rerun`), resuming (`resume`), evidence packs (`evidence`), the
configuration (`config`) and the runner processes (`runner`). Nothing here parses
arguments or draws a screen; each use case takes a `Store` from `console.store.open_store`.
"""
