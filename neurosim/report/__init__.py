"""Reports: tables (CSV/JSON) and plots, always written atomically."""
