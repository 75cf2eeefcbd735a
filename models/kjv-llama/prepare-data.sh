#!/usr/bin/env bash
# Splits the King James Bible into the reference model's training, held-out and domain texts.
# Input: the output of `bible -f "gen1:1-rev22:21"` from Debian's bible-kjv package, one verse per line
# as "Ge1:1 In the beginning ...". Verse references are stripped; blank lines dropped.
#   data/train.txt           Old Testament without the held-out books: pretraining text
#   data/heldout.txt         Ruth, Ecclesiastes, Lamentations, Jonah, Malachi: held-out evaluation text
#   data/calibration.txt     every 100th verse of train.txt: calibration text for conversion (<1% of tokens)
#   data/new-testament.txt   the New Testament, never seen in pretraining: the domain-adaptation corpus
set -euo pipefail
src=${1:?usage: prepare-data.sh path/to/kjv.txt}
out=$(dirname "$0")/data
mkdir -p "$out"
heldout='^(Ruth|Eccl|Lam|Jonah|Mal)[0-9]+:'
strip() { grep -v '^[[:space:]]*$' | sed -E 's/^[0-9]?[A-Za-z]+[0-9]+:[0-9]+ //'; }
nt=$(grep -n '^Mat1:1 ' "$src" | cut -d: -f1)
head -n $((nt - 1)) "$src" | grep -Ev "$heldout" | strip > "$out/train.txt"
head -n $((nt - 1)) "$src" | grep -E "$heldout" | strip > "$out/heldout.txt"
awk 'NR % 100 == 0' "$out/train.txt" > "$out/calibration.txt"
tail -n +"$nt" "$src" | strip > "$out/new-testament.txt"
wc -c "$out"/*.txt
