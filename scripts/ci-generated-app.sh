#!/usr/bin/env bash
# CI: the app generator must not rot. Copies the checkout to a scratch folder (sharing
# node_modules), generates an app there, then typechecks and runs that app's e2e spec.
#   scripts/ci-generated-app.sh [name]     (default: inventory)
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-inventory}"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/generated-app-XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$scratch"
ln -s "$PWD/node_modules" "$scratch/node_modules"
cd "$scratch"
npm run --silent generate:app -- "$name"
npm run --silent typecheck
npx vitest run "test/e2e/$name.e2e-spec.ts" --maxWorkers=1
echo "[ci] generated app \"$name\" typechecks and its e2e spec passes"
