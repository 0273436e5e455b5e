"""The DuckDB warehouse: schema and migrations, idempotent loading, daily signals, analyst views."""
