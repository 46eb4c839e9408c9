"""The container side: the benchmark runner (standard library + torch + diffusers)."""
