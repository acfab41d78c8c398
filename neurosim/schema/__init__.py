"""Input schemas: strict YAML reading and the validated models of workloads and architectures."""
