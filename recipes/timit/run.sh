#!/usr/bin/env bash
# TIMIT phone recognition (Kaldi protocol: 462/50/24 speakers, train on 48 phones, score on 39 with
# silence scored). Without --timit it synthesizes an embedded mini corpus in the TIMIT layout with
# espeak-ng, so the whole recipe runs offline, without a licence, on a laptop CPU.
# Like a Kaldi recipe it works in the current directory (corpus/ data/ dump/ exp/ go there):
#
#   cd recipes/timit && ./run.sh                          # embedded corpus, all stages
#   ./run.sh --timit /data/TIMIT                          # the real corpus
#   ./run.sh --stage 3 --model dnn optim.lr=5e-4          # retrain with Hydra overrides
set -euo pipefail
. "$(dirname "$0")/../../tools/recipe_utils.sh"

stage=0                # first stage: 0 corpus, 1 data prep, 2 features, 3 train, 4 decode, 5 score
stop_stage=5           # last stage
nj=2                   # parallel jobs (synthesis, feature extraction)
timit=                 # LDC TIMIT root (TRAIN/ TEST/, any case); empty: the embedded corpus
corpus_size=default    # embedded corpus: default (48 training speakers) or tiny (8, for tests)
corpus_seed=0          # embedded corpus seed
frontend=fbank         # conf/frontend/<frontend>.yaml
model=bilstm           # conf/model/<model>.yaml
exp_tag=               # experiment dir suffix: exp/<model>_<frontend><exp_tag>
overwrite=false        # stage 3: start the experiment over when its dir holds a run with other settings or data
speed_perturb=false    # train on 0.9/1.0/1.1 speed-perturbed copies of the training set (exp dir gets _sp)
threads=1              # torch CPU threads for training and decoding
decode_checkpoint=best # best, last, or avg (average of avg_n epochs: best by dev PER or last, see avg_by)
avg_n=5                # epochs averaged for --decode-checkpoint avg
avg_by=best            # best (by dev PER) or last epochs
help_message="Usage: $0 [options] [hydra overrides for training]\n  e.g. $0 --stage 3 --model dnn optim.lr=5e-4"
. "$TOOLKIT_ROOT/tools/parse_options.sh"
check_stages 5
check_work_dir

corpus=${timit:-corpus/mini_timit}
asr=("$TOOLKIT_ROOT/recipes/TEMPLATE/asr.sh" --stage "$stage" --stop-stage "$stop_stage" --nj "$nj" --frontend "$frontend"
     --model "$model" --exp-tag "$exp_tag" --overwrite "$overwrite" --train-set train --dev-set dev --test-sets "dev test"
     --speed-perturb "$speed_perturb" --threads "$threads" --decode-checkpoint "$decode_checkpoint" --avg-n "$avg_n"
     --avg-by "$avg_by")
# The options and overrides of the later stages are checked before the corpus and data stages run.
checks=first
if { in_stages 0 || in_stages 1; } && [ "$stop_stage" -ge 2 ]; then "${asr[@]}" --checks only -- "$@"; checks=config; fi

if in_stages 0; then
  if [ -n "$timit" ]; then
    stage_begin 0 "corpus: using TIMIT at $timit"
    [ -d "$timit" ] || { log "error: --timit $timit: no such directory (expected the LDC layout TRAIN/ TEST/)"; exit 1; }
  else
    stage_begin 0 "corpus: synthesizing the embedded mini TIMIT ($corpus_size) into $corpus"
    python -m toolkit.bin.make_mini_timit --out "$corpus" --size "$corpus_size" --seed "$corpus_seed" --nj "$nj"
  fi
  stage_end
fi

if in_stages 1; then
  stage_begin 1 "data preparation: $corpus -> data/{train,dev,test}, data/lang"
  python -m toolkit.bin.prepare_timit --timit "$corpus" --out data
  stage_end
fi

"${asr[@]}" --checks "$checks" -- "$@"
