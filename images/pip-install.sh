#!/bin/sh
# `uv pip install "$@"` into the image's venv: uv's resolver, parallel downloads, one package
# cache for every build (a BuildKit cache mount at $UV_CACHE_DIR; the legacy builder sets
# UV_NO_CACHE). A private index's credentials are a netrc that BuildKit mounts for the step
# only (a build secret), read by uv as by pip; no layer, label or history line holds them.
# uv keeps to its own CA roots unless told: the bundle the build was given, when there is one.
if [ -s /etc/vercompare/ca-bundle.crt ]; then
  SSL_CERT_FILE=/etc/vercompare/ca-bundle.crt
  export SSL_CERT_FILE
fi
exec uv pip install "$@"
