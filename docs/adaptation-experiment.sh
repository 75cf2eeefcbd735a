#!/usr/bin/env bash
# Domain adaptation from a small corpus: the reference model (trained on the Old Testament) is adapted to
# the Pauline epistles, either by fine-tuning only the experts the epistles route to in its MoE conversion
# (moe adapt) or by fine-tuning the whole FFN of the dense model with the same recipe (--baseline).
#
#   training corpus  Romans..Ephesians and 1 Thessalonians..Philemon, cut to 10 KB and 100 KB (whole verses);
#                    the "1 MB" row uses the whole New Testament minus the held-out epistles (~0.9 MB)
#   domain held-out  Philippians + Colossians (never trained on)
#   general held-out models/kjv-llama/data/heldout.txt (Old Testament books held out from pretraining)
#
# Usage: docs/adaptation-experiment.sh   (env: MODEL, WORK, STEPS, LR, BATCH, EVAL_WINDOWS, SIZES)
# Prints one markdown table; the JSON of every run stays in $WORK.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${MODEL:-$root/models/kjv-llama}
work=${WORK:-/tmp/moe-adaptation}
steps=${STEPS:-30}
lr=${LR:-1e-3}
batch=${BATCH:-8}
eval_windows=${EVAL_WINDOWS:-32}
sizes=${SIZES:-"10k 100k 1m"}
mkdir -p "$work"
dotnet build "$root/sdk/MoESdk.Cli/MoESdk.Cli.csproj" -c Release -v quiet -nologo >&2
moe() { dotnet run --project "$root/sdk/MoESdk.Cli" -c Release --no-build -- "$@"; }

# Line ranges of the New Testament file (one verse per line, KJV verse counts): Romans 4787-6217 runs to the
# end of Ephesians, Philippians + Colossians are 6218-6416, 1 Thessalonians..Philemon 6417-6819.
nt=$model/data/new-testament.txt
sed -n 6218,6416p "$nt" > "$work/heldout-epistles.txt"
{ sed -n 4787,6217p "$nt"; sed -n 6417,6819p "$nt"; } > "$work/pauline-train.txt"
{ sed -n 1,6217p "$nt"; sed -n 6417,7957p "$nt"; } > "$work/1m.txt"
# Whole verses up to the size: the lines that fit.
cut_to() { awk -v max="$1" '{ n += length($0) + 1; if (n > max) exit; print }' "$work/pauline-train.txt"; }
cut_to 10000 > "$work/10k.txt"
cut_to 100000 > "$work/100k.txt"

if [ ! -d "$work/kjv.moe" ]; then
  moe convert --model "$model" --out "$work/kjv.moe" --experts 8 --top-k 2 --router analytic --calibration "$model/data/calibration.txt" >&2
fi

for size in $sizes; do
  moe adapt --moe "$work/kjv.moe" --data "$work/$size.txt" --out "$work/kjv-$size.moe" --steps "$steps" --lr "$lr" --batch-size "$batch" --seed 0 --eval-windows "$eval_windows" \
    --domain-eval "$work/heldout-epistles.txt" --eval "$model/data/heldout.txt" --baseline "$model" --json > "$work/$size.json"
done

echo "| corpus | bytes | tokens | MoE trained params | domain ppl MoE before → adapted | general ppl MoE before → adapted | dense FFN params | domain ppl dense before → tuned | general ppl dense before → tuned |"
echo "|---|---|---|---|---|---|---|---|---|"
for size in $sizes; do
  jq -r --arg size "$size" '"| \($size) | \(.data.bytes) | \(.data.tokens) | \(.trainedParameters) | \(.domainBefore*100|round/100) → \(.domainAfter*100|round/100) | \(.generalBefore*100|round/100) → \(.generalAfter*100|round/100) | \(.baseline.trainedParameters) | \(.baseline.domainBefore*100|round/100) → \(.baseline.domainAfter*100|round/100) | \(.baseline.generalBefore*100|round/100) → \(.baseline.generalAfter*100|round/100) |"' "$work/$size.json"
done
echo
echo "steps $steps, lr $lr, batch $batch x 128 tokens, seed 0, $eval_windows windows of 128 tokens per perplexity; experts: auto (each layer's top-2 busiest on the corpus) + their routers; $(jq -r '[.experts[] | "\(.layer):\(.expert)"] | join(",")' "$work/${sizes%% *}.json") for ${sizes%% *}"
