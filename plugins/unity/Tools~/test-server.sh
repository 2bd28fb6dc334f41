#!/bin/sh
# Runs `merg serve` for the C# tests (Tests/Support/TestServer.cs) and stops it as soon
# as this script's stdin closes: when the test run ends, however it ends, the pipe closes
# and no server is left behind.
#   usage: test-server.sh PYTHON PORT LOGFILE      (prints the server's pid first)
python=$1
port=$2
log=$3
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" TRANSFORMERS_OFFLINE="${TRANSFORMERS_OFFLINE:-1}"
"$python" -m merg_sdk.cli serve --port "$port" >>"$log" 2>&1 &
pid=$!
echo "$pid"
read -r _ || true
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit 0
