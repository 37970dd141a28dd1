#!/bin/sh
# Submits the hash puzzle example (hash.wasm, the ww ABI) to a Shoal gateway
# as task task1: input 0 at difficulty 3, whose answer is 2832; 3 runs, the
# first after 1 s and then every 2 s, each limited to 5 s. Submitting again
# gets 409 Conflict, since the id is taken.
#
# SHOAL_GATEWAY overrides the gateway (default http://localhost:8080); extra
# arguments go to curl, e.g. ./submit.sh -sS.
set -eu

gateway=${SHOAL_GATEWAY:-http://localhost:8080}
gateway=${gateway%/}

# curl resolves @hash.wasm against the working directory, so run from here:
# the command below is then exactly the one to copy by hand.
cd "$(dirname "$0")"

exec curl -X POST -F id=task1 -F "description=Hash puzzle" -F complete=0 -F duration=5 -F start=1 -F delay=2 -F repeats=3 -F wasm=@hash.wasm -F input=0 -F difficulty=3 "$@" "$gateway/tasks"
