"""The papers' experiments, one module each (host-side drivers over the library)."""
