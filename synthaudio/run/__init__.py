"""The run engine: OUT, work records, executors, workers, progress, the front half every
pipeline shares, and the pipeline registry."""
