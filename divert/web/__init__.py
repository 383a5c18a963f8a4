"""Everything that imports Streamlit apart from the pages: the gate, the shell, forms and dashboard helpers."""
