# Needed, keep: makes arch_configs/ the package neurosim.arch_configs, so that an editable install finds the
# shipped architecture files (pyproject.toml maps it; neurosim.hw.arch.ARCH_DIR).
