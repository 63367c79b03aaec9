"""Pure-Python core: no Qt, no torch (an import-linter contract enforces this)."""
