"""Result files, tables and figures: what a person or a machine reads after a run."""
