from vercompare.backends.ray.backend import RayBackend as BACKEND  # noqa: F401
