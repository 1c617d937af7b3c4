#!/usr/bin/env bash
# The LVIS-shaped end-to-end experiment: make the 200-category synthetic
# data (tools/misc/make_synthetic_lvis.py --preset lvis-like), train the
# reduced Mask R-CNN with the sigmoid baseline, EQL and DropLoss for each
# seed (the same seeds for all three), test each under LVIS's standard
# protocol and Fixed AP, and print mean, spread and the paired per-seed
# differences to the baseline.
#
#   bash tools/analysis/longtail_multiseed.sh [WORK_DIR]
#
# About 14 minutes per run on 2 CPU cores (12 training, 2 testing), so 85
# minutes for the default 3 methods x 2 seeds. A run whose test results
# exist is skipped, so the script can be stopped and started again.
# PYTHON picks the interpreter; METHODS and SEEDS subsets or more seeds.
set -euo pipefail

PYTHON=${PYTHON:-python}
WORK_DIR=${1:-work_dirs/lvis_like}
METHODS=${METHODS:-sigmoid eql droploss}
SEEDS=${SEEDS:-0 1}
DATA=data/lvis_like

if [ ! -f "$DATA/annotations/lvis_v1_val.json" ]; then
    "$PYTHON" tools/misc/make_synthetic_lvis.py --preset lvis-like \
        --out "$DATA" --seed 0
fi

for seed in $SEEDS; do
    for method in $METHODS; do
        config=configs/analysis/${method}_r18_lvis_like.py
        run=$WORK_DIR/seed$seed/$method
        if [ -f "$run/fixed.eval.json" ]; then
            continue
        fi
        start=$(date +%s)
        "$PYTHON" tools/train.py "$config" --work-dir "$run" \
            --cfg-options randomness.seed="$seed"
        trained=$(date +%s)
        # one pass, two metrics: standard.eval.json and fixed.eval.json
        "$PYTHON" tools/test.py "$config" "$run/epoch_2.pth" \
            --work-dir "$run" \
            --cfg-options "test_evaluator.0.outfile_prefix=$run/standard" \
            "test_evaluator.1.outfile_prefix=$run/fixed"
        echo "seed $seed $method: train $((trained - start)) s," \
            "test $(($(date +%s) - trained)) s" | tee -a "$WORK_DIR/times.txt"
    done
done

for protocol in standard fixed; do
    "$PYTHON" tools/analysis/seed_table.py "$WORK_DIR" \
        --protocol "$protocol" --baseline sigmoid \
        --out "$WORK_DIR/table_$protocol.md"
done
