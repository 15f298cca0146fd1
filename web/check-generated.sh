#!/bin/sh
# check-generated.sh regenerates the templ files and fails when the committed
# *_templ.go files differ from what templ generates (run from anywhere).
set -eu
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
if ! out=$(go tool templ generate 2>&1); then
	echo "$out" >&2
	exit 1
fi
if ! git diff --exit-code --stat -- '*_templ.go'; then
	echo "check-generated: *_templ.go files are stale; run 'go tool templ generate' and commit them" >&2
	exit 1
fi
untracked=$(git ls-files --others --exclude-standard -- '*_templ.go')
if [ -n "$untracked" ]; then
	echo "check-generated: generated files not committed:" >&2
	echo "$untracked" >&2
	exit 1
fi
