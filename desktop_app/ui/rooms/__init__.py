"""One panel per room."""
