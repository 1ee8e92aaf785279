#!/usr/bin/env bash
# Table 3 of the AdaptDiff paper for the embedded default: generate N identities x M images
# with each tiny preset, embed with dlib (fixed box), score all pairs, and print the rows
# plus the real-DCGAN impostor reference row; also a contact sheet per preset (first 8
# identities x first 10 images: OUT/<preset>.png). docs/results.md was made with:
#   scripts/identity_consistency.sh results/identity-consistency 1000 20 -ddim50
# Usage: scripts/identity_consistency.sh OUT [IDENTITIES=1000] [IMAGES=20] [SUFFIX=-ddim50]
#        [CHECKPOINT=shipped]   (SUFFIX "" selects the DDPM-1000 presets)
# Environment: SEED (default 1), JOBS (presets run in parallel, default 3).
set -euo pipefail
OUT=${1:?usage: $0 OUT [IDENTITIES] [IMAGES] [SUFFIX] [CHECKPOINT]}
IDS=${2:-1000}
IMAGES=${3:-20}
SUFFIX=${4--ddim50}
CHECKPOINT=${5:-}
SEED=${SEED:-1}
JOBS=${JOBS:-3}
FSBENCH=${FSBENCH:-.venv/bin/fsbench}
PYTHON=${PYTHON:-.venv/bin/python}
PRESETS=(tiny-idiff-face tiny-negfacediff tiny-adaptdiff)
mkdir -p "$OUT"

run_preset() {
    local preset=$1$SUFFIX
    local extra=()
    [[ -n $CHECKPOINT ]] && extra=(--checkpoint "$CHECKPOINT")
    "$FSBENCH" generate --generator "$preset" --identities "$IDS" \
        --images-per-identity "$IMAGES" --out "$OUT/$preset" --seed "$SEED" \
        --device cpu --batch-size 100 --resume "${extra[@]}"
    "$FSBENCH" evaluate separability --dataset "$OUT/$preset" --embedder dlib \
        --out "$OUT/eval-$preset" --device cpu
}
export -f run_preset
export OUT IDS IMAGES SUFFIX CHECKPOINT SEED FSBENCH

# One torch thread per job: dlib and the MLP are single-threaded work on this box.
printf '%s\n' "${PRESETS[@]}" | OMP_NUM_THREADS=1 xargs -P "$JOBS" -I{} bash -c 'run_preset {}'

"$PYTHON" - "$OUT" "$SUFFIX" "$IDS" "$IMAGES" "${PRESETS[@]}" <<'PY'
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torchvision.io import read_image
from torchvision.utils import save_image

out, suffix, presets = Path(sys.argv[1]), sys.argv[2], sys.argv[5:]
sheet_ids, sheet_images = min(8, int(sys.argv[3])), min(10, int(sys.argv[4]))
rows = []
for preset in presets:
    folder = out / f"{preset}{suffix}"
    sheet = [
        read_image(str(folder / f"{i:06d}" / f"{k}.png"))
        for i in range(sheet_ids)
        for k in range(sheet_images)
    ]
    save_image(torch.stack(sheet).float() / 255, out / f"{preset}{suffix}.png", nrow=sheet_images)
    result = json.loads((out / f"eval-{preset}{suffix}" / "separability.json").read_text())
    rows.append({"method": preset + suffix, **{k: result[k] for k in (
        "eer", "fmr100", "fmr1000", "genuine_mean", "genuine_std", "impostor_mean",
        "impostor_std", "fdr")}})
# Reference: the identities themselves, i.e. dlib embeddings of real DCGAN faces (the
# two-stage contexts the first preset's run recorded); no genuine pairs exist for them.
contexts = np.load(out / f"{presets[0]}{suffix}" / "contexts.npz")["contexts"].astype(np.float64)
contexts /= np.linalg.norm(contexts, axis=1, keepdims=True)
scores = (contexts @ contexts.T)[np.triu_indices(len(contexts), k=1)]
rows.append({"method": f"real DCGAN faces ({len(contexts)}, impostors only)",
             "impostor_mean": float(scores.mean()), "impostor_std": float(scores.std())})
(out / "table3.json").write_text(json.dumps(rows, indent=2) + "\n")
print("| method | EER | FMR100 | FMR1000 | genuine mean | genuine std | impostor mean | impostor std | FDR |")
print("|---|---|---|---|---|---|---|---|---|")
keys = ("eer", "fmr100", "fmr1000", "genuine_mean", "genuine_std", "impostor_mean", "impostor_std", "fdr")
for row in rows:
    cells = [f"{row[k]:.3f}" if k in row else "-" for k in keys]
    print(f"| {row['method']} | " + " | ".join(cells) + " |")
PY
