#!/usr/bin/env bash
# Fails when a tracked file reads a path outside the repository: a clone must
# build, test and run with nothing laid beside it. It looks for two things:
#   - a relative path that names the folder of reference material laid
#     beside a working copy, which a clone does not have;
#   - Go code that joins ".." onto the module root or a path found from it,
#     which climbs above the module root.
# Prose about relative paths inside the repository (../README.md from a
# subfolder, Go's "../" in a test's package-relative path) stays allowed: only
# the patterns that leave the clone are refused.
set -euo pipefail
cd "$(dirname "$0")/../.."

status=0
report() {
	echo "self-contained: $1"
	echo "$2" | sed 's/^/  /'
	status=1
}

# This script names the patterns it refuses; it is the one file allowed to.
self=scripts/lint/self-contained.sh

# The folder's name is spelled from parts so that this file does not name
# the path it refuses.
beside="sha""red"
sibling=$(git grep -n -I -E '\.\./'"$beside"'([/"'"'"' ]|$)|"\.\.", *"'"$beside"'"' -- ":!$self" ':!*.sum' || true)
[ -z "$sibling" ] || report "a tracked file reads ../$beside, which a clone does not have:" "$sibling"

# filepath.Join(root, "..") or filepath.Join(ModuleRoot(), "..", ...): a path
# built from the module root that climbs out of it.
climb=$(git grep -n -I -E 'filepath\.Join\([^)]*([Rr]oot|ModuleRoot\(\))[^)]*"\.\."' -- '*.go' || true)
[ -z "$climb" ] || report "Go code joins \"..\" onto the module root:" "$climb"

# Shell and make files that cd or refer above the repository's top.
above=$(git grep -n -I -E '(\$\(git rev-parse --show-toplevel\)|\$\(CURDIR\)|\$ROOT|\$\{ROOT\})/\.\.(/|$)' -- ':!'"$self" || true)
[ -z "$above" ] || report "a script refers above the repository's top:" "$above"

[ "$status" -eq 0 ] && echo "self-contained: no tracked file reads outside the repository"
exit "$status"
