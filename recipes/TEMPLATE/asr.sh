#!/usr/bin/env bash
# Generic phone-recognition stages, shared by every ASR recipe (ESPnet's TEMPLATE, Kaldi's steps/).
# A corpus recipe prepares Kaldi data dirs data/<set> and data/lang (phones.txt, optional score.map
# and phones.ctm alignments) in the current directory, then calls this script from there:
#
#   "$TOOLKIT_ROOT/recipes/TEMPLATE/asr.sh" --stage 2 --train-set train --dev-set dev --test-sets "dev test" \
#       [hydra overrides...]
#
# Stages: 2 features + CMVN, 3 train, 4 decode, 5 score. Each stage reads only what earlier stages
# wrote, so any of them can be rerun alone; rerunning one is safe: features whose data and frontend are
# unchanged are kept (changed ones are extracted again), and training resumes or does nothing, but
# refuses to resume a run made with other settings or data (--overwrite true starts it over).
# Options and overrides are checked before any stage runs, and so are the inputs of the stages that
# run (each must exist, or come from an earlier stage that runs too).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../tools/recipe_utils.sh"

stage=2                # first stage to run
stop_stage=5           # last stage to run
nj=2                   # parallel feature-extraction jobs
train_set=train        # data/<train_set>
dev_set=dev            # data/<dev_set>: checkpoint selection and decoder tuning
test_sets="dev test"   # data dirs to decode and score
lang=data/lang         # phones.txt, score.map, phone_bigram.arpa
frontend=fbank         # conf/frontend/<frontend>.yaml
model=bilstm           # conf/model/<model>.yaml
exp_tag=               # experiment dir suffix (default: the Hydra overrides, as toolkit.bin.train names it)
decode_method=auto     # auto (viterbi for frame models, ctc_beam for CTC), viterbi, argmax, ctc_greedy, ctc_beam
speed_perturb=false    # train on speed-perturbed copies of data/<train_set> (data/<train_set>_sp; exp dir gets _sp)
speed_factors=0.9,1.0,1.1  # speed factors of the copies (1.0: the original utterances)
threads=1              # torch CPU threads for training and decoding (0: torch's default, slow on a busy CPU)
decode_checkpoint=best # best, last, or avg: the average of avg_n epochs (training keeps them, stage 4 averages)
avg_n=5                # epochs averaged for --decode-checkpoint avg
avg_by=best            # average the avg_n best epochs (by dev PER) or the avg_n last
default_overrides=     # the recipe's Hydra overrides, placed before the user's (which win); not in the exp dir name
print_exp_dir=false    # print the experiment dir these options name, run nothing
print_feats_dir=false  # print the feature dump dir (dump/<frontend>[_<frontend overrides>]), run nothing
overwrite=false        # stage 3: start the experiment over when its dir holds a run with other settings or data
checks=first           # first: check options, overrides and inputs before the first stage; only: check the
                       # options and overrides, run nothing; config: all but the training config (checked already)
help_message="Usage: $0 [options] [hydra overrides for training, e.g. optim.lr=5e-4 trainer.max_epochs=10]"
. "$TOOLKIT_ROOT/tools/parse_options.sh"

read -ra defaults <<< "$default_overrides"
overrides=("$@")
frontend_overrides=()
for o in "${defaults[@]}" "${overrides[@]}"; do [[ $o =~ ^[+~]*frontend\. ]] && frontend_overrides+=("$o"); done
# Names come from toolkit/utils/naming.py, as for `python -m toolkit.bin.train`: the features go to
# dump/<frontend>[_<overrides that change them>], the experiment to exp/<model>_<frontend>[_<the user's
# overrides that change it>] (or <exp_tag>), so other settings never reuse or resume these.
feats=$(python -m toolkit.bin.names feats --frontend "$frontend" -- "${defaults[@]}" "${overrides[@]}")
exp=$(python -m toolkit.bin.names exp --model "$model" --frontend "$frontend" --tag "$exp_tag" -- "${overrides[@]}")
if [ "$speed_perturb" = true ]; then exp=${exp}_sp; fi   # trained on the speed-perturbed copies
if [ "$print_exp_dir" = true ]; then echo "$exp"; exit 0; fi
if [ "$print_feats_dir" = true ]; then echo "$feats"; exit 0; fi
# The training data: data/<train_set>, or its speed-perturbed copies made at stage 2 (their features and
# CMVN come from stage 2 like any set's; the phone bigram still counts the original transcripts).
train_data=$train_set
if [ "$speed_perturb" = true ]; then train_data=${train_set}_sp; fi
sets=$(echo "$train_set $train_data $dev_set $test_sets" | tr ' ' '\n' | awk 'NF && !seen[$0]++')

# Before any work: the stage numbers, the work dir, the options, the inputs of the stages that run
# (each must exist, or come from an earlier stage that runs too), the training config these options make
# (from stage 3 on, training checks it itself before any work).
check_stages
case $checks in first|only|config) ;; *) log "error: --checks $checks: choose first, only or config"; exit 1 ;; esac
if [ "$checks" != only ] && ! { in_stages 2 || in_stages 3 || in_stages 4 || in_stages 5; }; then exit 0; fi
check_work_dir
# Decodes of other checkpoints than the best go to their own dirs (decode_dev_last, decode_dev_avg5best): never
# over the best's results, and the results table names them.
case $decode_checkpoint in
  best) decode_suffix= ;;
  last) decode_suffix=_last ;;
  avg) decode_suffix=_avg$avg_n$avg_by ;;
  *) log "error: --decode-checkpoint $decode_checkpoint: choose best, last or avg"; exit 1 ;;
esac
case $decode_method in auto|viterbi|argmax|ctc_greedy|ctc_beam) ;;
  *) log "error: --decode-method $decode_method: choose auto, viterbi, argmax, ctc_greedy or ctc_beam"; exit 1 ;;
esac
need_feats() {  # need_feats SET WHY
  if [ ! -f "$feats/$1/feats.scp" ]; then
    if [ -d "data/$1" ]; then
      log "error: $feats/$1: no features of data/$1, which $2 needs: run stage 2 with it (--stage 2, and '$1' among --train-set/--dev-set/--test-sets)"
    else
      log "error: data/$1: no such data dir, which $2 needs: prepare it (the corpus recipe's stages 0-1, or your own Kaldi data dir), then run from stage 2"
    fi
    exit 1
  fi
}
if [ "$checks" != only ]; then
  if in_stages 2; then
    for set in $sets; do
      if [ "$speed_perturb" = true ] && [ "$set" = "$train_data" ]; then continue; fi   # stage 2 makes the copies
      [ -d "data/$set" ] || { log "error: data/$set: no such data dir: prepare it first (the corpus recipe's stages 0-1, or your own Kaldi data dir)"; exit 1; }
    done
  else
    if in_stages 3; then need_feats "$train_data" "training (stage 3)"; need_feats "$dev_set" "training (stage 3)"; fi
    if in_stages 4; then for set in $dev_set $test_sets; do need_feats "$set" "decoding (stage 4)"; done; fi
  fi
  if in_stages 4 && ! in_stages 3 && [ ! -f "$exp/checkpoint_best.pt" ]; then
    log "error: $exp: no trained model to decode with: run stage 3 first (--stage 3)"; exit 1
  fi
  if in_stages 5 && ! in_stages 4; then
    for set in $test_sets; do
      [ -f "$exp/decode_$set$decode_suffix/hyp.txt" ] || { log "error: $exp/decode_$set$decode_suffix/hyp.txt: '$set' was not decoded with --decode-checkpoint $decode_checkpoint: run stage 4 first (--stage 4)"; exit 1; }
    done
  fi
fi
if [ "$checks" = only ] || { [ "$checks" = first ] && in_stages 2; }; then
  python -m toolkit.bin.train --check frontend="$frontend" model="$model" "${defaults[@]}" "${overrides[@]}"
fi
if [ "$checks" = only ]; then exit 0; fi

if in_stages 2; then
  stage_begin 2 "features ($frontend) and per-speaker CMVN for: $(echo $sets) -> $feats"
  if [ "$speed_perturb" = true ]; then
    python -m toolkit.bin.perturb_speed --factors "$speed_factors" "data/$train_set" "data/$train_data"
  fi
  for set in $sets; do
    python -m toolkit.bin.extract_feats --frontend "$frontend" --nj "$nj" \
      "data/$set" "$feats/$set" "${frontend_overrides[@]}"
    python -m toolkit.bin.compute_cmvn "$feats/$set"
  done
  stage_end
fi

if in_stages 3; then
  stage_begin 3 "train $model on $frontend features -> $exp"
  start_over=(); if [ "$overwrite" = true ]; then start_over=(+overwrite=true); fi
  # Paths are quoted for Hydra: names made of overrides hold '='.
  keep=(); [ "$decode_checkpoint" = avg ] && keep=(trainer.keep_epochs="$avg_n")
  python -m toolkit.bin.train frontend="$frontend" model="$model" exp_dir="'$exp'" \
    data.train="'$feats/$train_data'" data.dev="'$feats/$dev_set'" data.lang="$lang" \
    trainer.progress=false threads="$threads" "${keep[@]}" "${defaults[@]}" "${overrides[@]}" "${start_over[@]}"
  stage_end
fi

if in_stages 4; then
  stage_begin 4 "decode ($decode_method) with a phone bigram of data/$train_set"
  python -m toolkit.bin.train_phone_lm --symbols "$lang/phones.txt" "data/$train_set/text" "$lang/phone_bigram.arpa"
  if [ "$decode_checkpoint" = avg ]; then
    python -m toolkit.bin.average_checkpoints --exp "$exp" --n "$avg_n" --by "$avg_by"
  fi
  for set in $test_sets; do
    python -m toolkit.bin.decode --exp "$exp" --method "$decode_method" --lm "$lang/phone_bigram.arpa" --threads "$threads" \
      --checkpoint "$decode_checkpoint" --tune-on "$feats/$dev_set" "$feats/$set" "$exp/decode_$set$decode_suffix"
  done
  stage_end
fi

if in_stages 5; then
  stage_begin 5 "score"
  map=(); [ -f "$lang/score.map" ] && map=(--map "$lang/score.map")
  for set in $test_sets; do
    python -m toolkit.bin.score --ref "data/$set/text" --hyp "$exp/decode_$set$decode_suffix/hyp.txt" \
      --utt2spk "data/$set/utt2spk" "${map[@]}" --out-dir "$exp/decode_$set$decode_suffix/scoring" \
      > "$exp/decode_$set$decode_suffix/scoring.log"
  done
  python -m toolkit.bin.show_results exp
  stage_end
fi
