"""Read models for the records pages and the equity pages: casework, worklist, equity."""
