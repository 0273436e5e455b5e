"""The application layer: typed config, the pipeline steps the DAG calls, and the `zmot` CLI."""
