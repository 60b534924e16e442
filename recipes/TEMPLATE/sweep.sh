#!/usr/bin/env bash
# Every model x frontend pair through the generic ASR stages (features, train, decode, score), then
# one results table. Run it from a recipe's work dir after its data preparation (stage 1):
#
#   cd recipes/timit && ./run.sh --stop-stage 1
#   ../TEMPLATE/sweep.sh --models "dnn cnn bilstm reslstm" --frontends "fbank mfcc learnable_mel gammatone"
#
# Trailing arguments are Hydra overrides for every training run. Each pair gets its own experiment
# dir, so an interrupted sweep picks up where it stopped when run again.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../tools/recipe_utils.sh"

models="dnn cnn bilstm reslstm"   # conf/model/<name>.yaml
frontends="fbank mfcc"            # conf/frontend/<name>.yaml
nj=2                              # parallel feature-extraction jobs
train_set=train                   # data/<train_set>
dev_set=dev                       # data/<dev_set>
test_sets="dev test"              # sets to decode and score
help_message="Usage: $0 [options] [hydra overrides for every training run]"
. "$TOOLKIT_ROOT/tools/parse_options.sh"

asr=("$TOOLKIT_ROOT/recipes/TEMPLATE/asr.sh" --nj "$nj" --train-set "$train_set" --dev-set "$dev_set" --test-sets "$test_sets")
for frontend in $frontends; do
  "${asr[@]}" --stage 2 --stop-stage 2 --frontend "$frontend"
done
for frontend in $frontends; do
  for model in $models; do
    log "sweep: $model on $frontend"
    "${asr[@]}" --stage 3 --stop-stage 4 --frontend "$frontend" --model "$model" -- "$@"
    "${asr[@]}" --stage 5 --stop-stage 5 --frontend "$frontend" --model "$model" -- "$@" > /dev/null
  done
done
python -m toolkit.bin.show_results exp
python -m toolkit.bin.show_results exp --grid "$dev_set"
