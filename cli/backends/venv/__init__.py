from vercompare.backends.venv.backend import VenvBackend as BACKEND  # noqa: F401
