"""The full-screen console (Textual): a client of the engine and the store, holding no rules."""
