#!/bin/sh
# `pip install "$@"`, with a private index's credentials when SECRETS_URL is set: they are
# fetched from the host's loopback server into a netrc and deleted before this step ends,
# so no image layer, label or history line ever holds them.
if [ -n "$SECRETS_URL" ]; then
  python3 -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())' \
    "$SECRETS_URL" > "$HOME/.netrc" || exit 1
  chmod 600 "$HOME/.netrc"
fi
pip install "$@"
rc=$?
rm -f "$HOME/.netrc"
exit $rc
