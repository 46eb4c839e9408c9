from vercompare.backends.docker.backend import DockerBackend as BACKEND  # noqa: F401
