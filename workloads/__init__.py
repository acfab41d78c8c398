# Needed, keep: makes workloads/ the package neurosim.workloads, so that an editable install finds the shipped
# workloads and topology CSVs (pyproject.toml maps it; neurosim.schema.workload.WORKLOAD_DIR).
