#!/bin/sh
# Development entrypoint of the `dev` image target (Tilt only). Runs `python -m <module> [args]`
# under watchfiles, which restarts it whenever Tilt's live update syncs a change into /app, or
# when /tmp/crm-reload is touched (the Tiltfile does that after `pip install` on a pyproject.toml
# change).
set -eu
if [ "$#" -lt 1 ]; then
    echo "usage: crm-dev-entrypoint <module> [args...]" >&2
    exit 64
fi
mkdir -p /tmp/crm-reload
exec watchfiles --target-type command "python -m $*" \
    /app/libs /app/services /app/gateway /tmp/crm-reload
