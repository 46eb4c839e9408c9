from vercompare.backends.local.backend import LocalBackend as BACKEND  # noqa: F401
