"""The HTTP layer: parse a request, call a service, serialize the result. Nothing else."""
