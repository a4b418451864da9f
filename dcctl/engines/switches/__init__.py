"""Switch engine: render -> diff -> push only the delta -> verify -> save, with rollback."""
