#!/usr/bin/env bash
# Phone recognition on speechocean762 (non-native English read speech, children and adults), or on any
# corpus in its layout, with CTC: the corpus has word transcripts and a lexicon but no time alignments.
# Labels are each utterance's canonical phones (text-phone, else the lexicon), folded to TIMIT's 39 phones.
# Without --corpus it synthesizes a tiny corpus in the same layout with espeak-ng (a smoke test).
# Like a Kaldi recipe it works in the current directory (corpus/ data/ dump/ exp/ go there):
#
#   cd recipes/speechocean762 && ./run.sh                        # embedded mini corpus, all stages
#   ./run.sh --corpus /data/speechocean762                       # original layout (train/ test/ WAVE/ resource/)
#   ./run.sh --corpus /data/speechocean762-train                 # flat layout (the training half only)
#   ./run.sh --stage 2 --test-sets "dev /data/my_recordings"     # also decode and score your own data dir
#   ./run.sh --stage 3 --model cnn model.head=bilstm             # another model, Hydra overrides
#   ./run.sh --stage 6 --align-and-retrain true                  # CTC alignments -> frame-CE hybrid model
#   ./run.sh --stage 2 --speed-perturb true --decode-checkpoint avg augment=specaug scheduler=noam
set -euo pipefail
. "$(dirname "$0")/../../tools/recipe_utils.sh"

stage=0                # first stage: 0 corpus, 1 data prep, 2 features, 3 train, 4 decode, 5 score, 6 align, 7 retrain
stop_stage=7           # last stage (6-7 run only with --align-and-retrain true)
nj=2                   # parallel jobs (synthesis, feature extraction)
corpus=                # speechocean762 root, original or flat layout; empty: the embedded mini corpus
corpus_seed=0          # embedded corpus seed
dev_fraction=0.1       # share of training speakers held out as the dev set (stratified children/adults)
skip_oov=false         # leave out (and count) utterances with words missing from text-phone and the lexicon
test_sets=             # sets to decode and score: dev, test, or data dirs in the corpus layout (default: dev [test])
frontend=fbank         # conf/frontend/<frontend>.yaml
model=                 # conf/model/<model>.yaml (default: cnn_bilstm with --corpus, bilstm on the mini corpus)
exp_tag=               # experiment dir suffix (default: named after the Hydra overrides)
overwrite=false        # stage 3: start the experiment over when its dir holds a run with other settings or data
align_and_retrain=false  # stages 6-7: force-align train/dev with the CTC model, train a frame-CE model on it
retrain_model=bilstm   # stage 7: model of the frame cross-entropy (hybrid) system
retrain_opts=          # stage 7: Hydra overrides of its training, e.g. "trainer.max_epochs=10"
blank_to=split         # stage 6: blank frames between two phones are split between them, or go to the previous one
speed_perturb=         # train on 0.9/1.0/1.1 speed-perturbed copies of the training set (exp dir gets _sp);
                       # default: true with --corpus, false on the mini corpus
threads=1              # torch CPU threads for training and decoding
decode_checkpoint=best # best, last, or avg (average of avg_n epochs: best by dev PER or last, see avg_by)
avg_n=5                # epochs averaged for --decode-checkpoint avg
avg_by=best            # best (by dev PER) or last epochs
help_message="Usage: $0 [options] [hydra overrides for training]\n  e.g. $0 --corpus /data/speechocean762 trainer.max_epochs=30"
. "$TOOLKIT_ROOT/tools/parse_options.sh"
check_stages 7
check_work_dir

# CTC defaults (Hydra overrides before the user's, which win): CTC learns slower than frame CE and
# likes a higher learning rate; newbob halves it once the dev loss stalls. CTC's dev loss starts rising
# (over-confident spikes) while its PER still falls, so newbob may not stop before 12 epochs. A time
# budget of 90 minutes (RESULTS.md's headline row; trainer.max_minutes=0 for none): an epoch of the
# speed-perturbed copies takes 10-12 minutes on one CPU thread.
ctc_defaults="loss=ctc optim.lr=2e-3 trainer.max_epochs=40 trainer.max_minutes=90"
[[ " $* " == *" scheduler="* ]] || ctc_defaults="$ctc_defaults scheduler.min_epochs=12"
if [ -z "$corpus" ]; then
  # The embedded corpus has 90 training utterances: a smaller model, small batches for enough updates,
  # and a constant learning rate (newbob would halve it during CTC's initial all-blank plateau).
  ctc_defaults="loss=ctc model.hidden_dim=96 data.max_frames=800 optim.lr=4e-3 scheduler=none trainer.max_epochs=18"
fi
# The model and data: CNN front (time stride 2) + BiLSTM on speed-perturbed copies of a real corpus (the best
# in RESULTS.md); a BiLSTM on the embedded corpus as it is.
if [ -z "$model" ]; then
  if [ -n "$corpus" ]; then model=cnn_bilstm; else model=bilstm; fi
fi
if [ -z "$speed_perturb" ]; then
  if [ -n "$corpus" ]; then speed_perturb=true; else speed_perturb=false; fi
fi
corpus_dir=${corpus:-corpus/mini_speechocean}

if in_stages 0; then
  if [ -n "$corpus" ]; then
    stage_begin 0 "corpus: using $corpus"
    [ -d "$corpus" ] || { log "error: --corpus $corpus: no such directory (expected train/ test/ WAVE/ resource/, or wav.scp + lexicon.txt)"; exit 1; }
  else
    stage_begin 0 "corpus: synthesizing the embedded mini speechocean762 into $corpus_dir"
    python -m toolkit.bin.make_mini_speechocean --out "$corpus_dir" --seed "$corpus_seed" --nj "$nj"
  fi
  stage_end
fi

# Test sets: names of prepared sets, or paths of other data dirs (prepared into data/<basename>).
if [ -z "$test_sets" ]; then
  test_sets=dev
  if [ -d "$corpus_dir/test" ] || [ -d data/test ]; then test_sets="dev test"; fi
fi
set_names=()
for t in $test_sets; do
  case $t in dev|test) set_names+=("$t") ;; *) set_names+=("$(basename "$t")") ;; esac
done
oov=(); [ "$skip_oov" = true ] && oov=(--skip-oov)

if in_stages 1; then
  stage_begin 1 "data preparation: $corpus_dir -> data/{train,dev[,test]}, data/lang; other sets: $test_sets"
  python -m toolkit.bin.prepare_speechocean762 --corpus "$corpus_dir" --out data --dev-fraction "$dev_fraction" "${oov[@]}"
  for t in $test_sets; do
    case $t in dev|test) continue ;; esac
    name=$(basename "$t")
    case $name in train|dev|test|lang) log "error: --test-sets $t: its name '$name' clashes with data/$name; rename or symlink the dir"; exit 1 ;; esac
    python -m toolkit.bin.prepare_speechocean762 --data-dir "$t" --lexicon data/lang/lexicon.txt --out "data/$name" "${oov[@]}"
  done
  stage_end
fi

"$TOOLKIT_ROOT/recipes/TEMPLATE/asr.sh" --stage "$stage" --stop-stage "$stop_stage" --nj "$nj" --frontend "$frontend" \
  --model "$model" --exp-tag "$exp_tag" --overwrite "$overwrite" --train-set train --dev-set dev --test-sets "${set_names[*]}" \
  --speed-perturb "$speed_perturb" --threads "$threads" --decode-checkpoint "$decode_checkpoint" --avg-n "$avg_n" \
  --avg-by "$avg_by" --default-overrides "$ctc_defaults" -- "$@"

if [ "$align_and_retrain" = true ]; then
  ctc_exp=$("$TOOLKIT_ROOT/recipes/TEMPLATE/asr.sh" --model "$model" --frontend "$frontend" --exp-tag "$exp_tag" \
    --speed-perturb "$speed_perturb" --print-exp-dir true -- "$@")
  feats=$("$TOOLKIT_ROOT/recipes/TEMPLATE/asr.sh" --frontend "$frontend" --print-feats-dir true -- "$@")
  frontend_overrides=(); for o in "$@"; do [[ $o == frontend.* ]] && frontend_overrides+=("$o"); done
  if in_stages 6; then
    stage_begin 6 "force-align train and dev with the CTC model $ctc_exp -> {data,$feats}/{train,dev}_ali"
    for set in train dev; do
      python -m toolkit.bin.ctc_align --exp "$ctc_exp" --blank-to "$blank_to" "$feats/$set" "$feats/${set}_ali"
      rm -rf "data/${set}_ali"; mkdir -p "data/${set}_ali"   # the aligned utterances, for the phone bigram
      cp "$feats/${set}_ali"/{wav.scp,text,utt2spk,spk2utt,phones.ctm} "data/${set}_ali/"
    done
    stage_end
  fi
  if in_stages 7; then
    stage_begin 7 "train a frame cross-entropy $retrain_model on the CTC alignments, decode, score"
    "$TOOLKIT_ROOT/recipes/TEMPLATE/asr.sh" --stage 3 --stop-stage 5 --frontend "$frontend" --model "$retrain_model" --threads "$threads" \
      --exp-tag "_ali_${blank_to}-$(basename "$ctc_exp")" --train-set train_ali --dev-set dev_ali --test-sets "${set_names[*]}" \
      -- loss=frame_ce "${frontend_overrides[@]}" $retrain_opts
    stage_end
  fi
fi
