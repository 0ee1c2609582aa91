#!/usr/bin/env bash
# A README per folder names every file in it: fail when a tracked file is
# not named, in backticks, by the README.md of its folder. A file in a
# subfolder without a README of its own belongs to the nearest README
# above it and is named by its path from there (`unit/core/test_json.c`
# in tests/README.md). Files under a data folder (DATA below: fuzz seeds,
# golden outputs) may be named through the folder instead (`corpus/`).
# Every folder with a README.md is checked but the top one (README.md
# there is the user's guide; the build files beside it speak for themselves).
set -u
src=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$src" || exit 99
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "readme_files: not a git checkout"; exit 77; }

FOLDERS=$(git ls-files -- '*/README.md' | sed 's|/README.md$||')
DATA="tests/fuzz/corpus tests/golden"

# Sets OWNER to the folder of the README that answers for file $1: the
# nearest folder above it that has a README.md.
owner() {
    OWNER=${1%/*}
    while [ "$OWNER" != "$1" ] && [ ! -f "$OWNER/README.md" ]; do
        case $OWNER in */*) OWNER=${OWNER%/*} ;; *) OWNER=. ;; esac
    done
}

# covered FILE FOLDER TEXT: TEXT (FOLDER/README.md) names FILE in
# backticks, or, for a file under a data folder, one of its folders from
# the data folder down, with a trailing slash.
covered() {
    local file=$1 folder=$2 text=$3 data d
    [[ $text == *"\`${file#"$folder"/}\`"* ]] && return 0
    for data in $DATA; do
        case $file in "$data"/*) ;; *) continue ;; esac
        d=${file%/*}
        while :; do
            [[ $text == *"\`${d#"$folder"/}/\`"* ]] && return 0
            [ "$d" = "$data" ] && break
            d=${d%/*}
        done
    done
    return 1
}

bad=0
checked=0
for folder in $FOLDERS; do
    [ -f "$folder/README.md" ] || { echo "readme_files: $folder has no README.md"; bad=1; continue; }
    text=$(cat "$folder/README.md")
    while IFS= read -r file; do
        [ "$file" = "$folder/README.md" ] && continue
        owner "$file"
        [ "$OWNER" = "$folder" ] || continue
        checked=$((checked + 1))
        if ! covered "$file" "$folder" "$text"; then
            echo "readme_files: $folder/README.md does not name \`${file#"$folder"/}\`"
            bad=1
        fi
    done < <(git ls-files -- "$folder")
done
[ "$bad" = 0 ] || exit 1
echo "readme_files: $checked files, each named by its folder's README"
