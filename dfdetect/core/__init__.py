"""The shared base every stage stands on: config (THE defaults), schemas (CSV columns, statuses), I/O, seeding,
resume markers, metrics, checkpoints and the torch runtime. Imports no stage and nothing above it.

See ``docs/ARCHITECTURE.md`` for the layers.
"""
