#!/usr/bin/env bash
# The LVIS-regime experiment (docs/analysis.md, "LVIS regime"): DropLoss,
# EQL and sigmoid BCE on data with LVIS v1's imbalance, decoupled as cRT:
#   1. the data: make_synthetic_lvis.py --preset lvis-regime (10,000 images);
#   2. stage 1: one Mask R-CNN trained end to end with sigmoid BCE;
#   3. the sampled RoIs' box-head features of PASSES passes, cached;
#   4. per seed and arm, the classifier alone retrained for EPOCHS passes
#      over the cache with the arm's loss (the package's DropLoss module in
#      MMDetection's bbox_head), then the detector with it tested by
#      tools/test.py under LVIS's standard protocol (boxes and masks) and
#      Fixed AP (boxes, no per-image cap: the FIXED options below);
#   5. tables (mean, spread, paired differences) and the Pareto figure.
#
#   bash tools/analysis/lvis_regime.sh [WORK_DIR]
#
# A finished step is skipped (its output exists), so the script can be
# stopped and started again. PYTHON picks the interpreter; ARMS, SEEDS,
# PASSES, EPOCHS change the plan (the docs quote the defaults).
set -euo pipefail

PYTHON=${PYTHON:-python}
WORK_DIR=${1:-work_dirs/lvis_regime}
ARMS=${ARMS:-sigmoid eql droploss seesaw eqlv2 federated gumbel}
SEEDS=${SEEDS:-0 1}
PASSES=${PASSES:-2}
EPOCHS=${EPOCHS:-20}
DATA=data/lvis_regime
STAGE1=configs/analysis/sigmoid_r18_lvis_regime.py
# Fixed AP, boxes: no per-image cap at inference, every detection above
# 0.0001, then each category's 172 best over the 340 validation images
# (LVIS's 10,000 over its 19,809, scaled). No masks: for every detection of
# 200 categories they cost some 15 s an image on 2 cores.
FIXED=(model.roi_head.mask_roi_extractor=None model.roi_head.mask_head=None
       model.test_cfg.rcnn.max_per_img=-1 test_evaluator.metric=bbox
       test_evaluator.max_dets=None test_evaluator.max_dets_per_cat=172
       test_evaluator.prefix=lvis_fixed)
mkdir -p "$WORK_DIR"
log() { echo "$(date +%T) $*" | tee -a "$WORK_DIR/times.txt"; }
timed() {  # timed NAME OUTPUT COMMAND...: run unless OUTPUT exists
    local name=$1 output=$2 start
    shift 2
    [ -e "$output" ] && return
    start=$(date +%s)
    "$@"
    log "$name: $(($(date +%s) - start)) s"
}

timed data "$DATA/annotations/lvis_v1_val.json" \
    "$PYTHON" tools/misc/make_synthetic_lvis.py --preset lvis-regime \
    --out "$DATA" --seed 0
timed stage1 "$WORK_DIR/stage1/epoch_1.pth" \
    "$PYTHON" tools/train.py "$STAGE1" --work-dir "$WORK_DIR/stage1" \
    --cfg-options randomness.seed=0
timed cache "$WORK_DIR/cache.pt" \
    "$PYTHON" tools/analysis/lvis_regime.py cache "$STAGE1" \
    "$WORK_DIR/stage1/epoch_1.pth" "$WORK_DIR/cache.pt" --passes "$PASSES"

for seed in $SEEDS; do
    for arm in $ARMS; do
        config=configs/analysis/${arm}_r18_lvis_regime.py
        run=$WORK_DIR/seed$seed/$arm
        mkdir -p "$run"
        timed "seed $seed $arm classifier" "$run/classifier.pth" \
            "$PYTHON" tools/analysis/lvis_regime.py classifier "$config" \
            "$WORK_DIR/stage1/epoch_1.pth" "$WORK_DIR/cache.pt" \
            "$run/classifier.pth" --seed "$seed" --epochs "$EPOCHS"
        # LVIS's standard protocol (boxes and masks), then Fixed AP (boxes,
        # no per-image cap)
        timed "seed $seed $arm test" "$run/standard.eval.json" \
            "$PYTHON" tools/test.py "$config" "$run/classifier.pth" \
            --work-dir "$run" \
            --cfg-options "test_evaluator.outfile_prefix=$run/standard"
        timed "seed $seed $arm fixed" "$run/fixed.eval.json" \
            "$PYTHON" tools/test.py "$config" "$run/classifier.pth" \
            --work-dir "$run" \
            --cfg-options "${FIXED[@]}" "test_evaluator.outfile_prefix=$run/fixed"
    done
done

for protocol in standard fixed; do
    "$PYTHON" tools/analysis/seed_table.py "$WORK_DIR" \
        --protocol "$protocol" --baseline sigmoid \
        --out "$WORK_DIR/table_$protocol.md"
done
"$PYTHON" tools/analysis/lvis_regime.py checks "$WORK_DIR" \
    "$WORK_DIR/cache.pt" "$DATA/annotations/lvis_v1_train.json" \
    | tee "$WORK_DIR/checks.md"
names=() files=()
for seed in $SEEDS; do
    for arm in $ARMS; do
        names+=("$arm s$seed") files+=("$WORK_DIR/seed$seed/$arm/standard.eval.json")
    done
done
"$PYTHON" tools/analysis/plot_pareto.py "${files[@]}" --names "${names[@]}" \
    --iou-type bbox --title 'LVIS regime, standard protocol (bbox)' \
    --out "$WORK_DIR/lvis_regime_pareto.png"
