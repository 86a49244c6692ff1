"""What a run leaves behind, read from its saved files: job files and summaries,
statistics over seeds, the tables, the report, and the families' comparison."""
