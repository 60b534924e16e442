#!/usr/bin/env bash
# Translation with an attention encoder-decoder (Bahdanau et al. 2015) on sentencepiece pieces.
# Without corpus options it runs on the embedded smoke test (local/smoke_test.tsv: a few
# hundred German-English pairs the project generated from a template grammar; a pipeline check,
# not a benchmark), offline, in a few minutes on 2 CPU cores.
#
# Like a Kaldi recipe it works in the current directory (data/ exp/ go there):
#
#   cd recipes/translation && ./run.sh                                      # smoke test, all stages
#   ./run.sh --pairs /data/tatoeba/deu-eng.tsv                              # Tatoeba/Anki TSV
#   ./run.sh --train-src train.de --train-tgt train.en --src de --tgt en    # Moses files
#   ./run.sh --stage 4 --model seq2seq_lstm optim.lr=5e-4                   # retrain with Hydra overrides
#
# Stages: 0 data, 1 clean + split (here), then the generic text-to-text stages of
# recipes/TEMPLATE/seq2seq.sh: 2 sentencepiece, 3 word2vec (--word2vec true), 4 train, 5 decode (beam),
# 6 score (BLEU, chrF). Each stage reads only what earlier ones wrote (data/, exp/); rerunning one is
# safe: preparation is deterministic and training resumes (or does nothing).
set -euo pipefail
recipe_dir=$(cd "$(dirname "$0")" && pwd)   # local/ (the smoke test, corpus glue)
. "$recipe_dir/../../tools/recipe_utils.sh"

stage=0                # first stage to run
stop_stage=6           # last stage to run
src=deu                # source language code (file suffix; TSV column name)
tgt=eng                # target language code
pairs=                 # tab-separated pair file (Tatoeba/Anki: English<TAB>other); empty: embedded smoke test
columns=               # languages of the TSV columns, e.g. eng,deu (default: from an Anki name like deu-eng.tsv)
train_src=             # Moses-style parallel training files, instead of --pairs
train_tgt=             # target side of --train-src
dev_src=               # optional Moses-style dev files (default: split off the training pairs)
dev_tgt=               # target side of --dev-src
test_src=              # optional Moses-style test files (default: split off the training pairs)
test_tgt=              # target side of --test-src
download_url=          # optional (needs internet): URL of the --pairs file, or of a zip holding it
dev_size=auto          # dev pairs to split off: count, fraction or auto (10%, at most 1000)
test_size=auto         # test pairs to split off: count, fraction or auto (10%, at most 2000)
max_words=80           # cleaning: drop pairs with a side longer than this (words)
max_ratio=9            # cleaning: drop pairs whose length ratio exceeds this
max_train_pairs=0      # keep a seeded random subset of the training pairs (0: all)
split_seed=0           # seed of the deterministic split
vocab_size=8000        # sentencepiece pieces (an upper bound for small corpora)
spm_type=unigram       # sentencepiece model: unigram or bpe
joint_vocab=true       # one sentencepiece model for both languages
word2vec=false         # stage 3: word2vec on the training pieces initialises the embeddings
w2v_epochs=10          # word2vec epochs
model=seq2seq_gru      # conf/model/<model>.yaml
emb_dim=256            # word2vec vector size, and model.emb_dim with --word2vec true
exp_tag=               # experiment dir suffix: exp/<model>_<src>-<tgt><exp_tag>
overwrite=false        # stage 4: start the experiment over when its dir holds a run with other settings or data
threads=1              # torch CPU threads for training and decoding (0: torch's default, slow on a busy CPU)
test_sets=dev,test     # data sets to decode and score (comma-separated)
beam_size=5            # beam search width
length_penalty=gnmt    # none, average or gnmt
alpha=0.6              # length penalty exponent
plot_line=1            # 1-based lines of each decoded set whose attention is plotted (comma-separated; 0: none)
help_message="Usage: $0 [options] [hydra overrides for training]\n  e.g. $0 --pairs deu-eng.tsv --max-train-pairs 50000 trainer.max_epochs=10"
. "$TOOLKIT_ROOT/tools/parse_options.sh"
check_stages 6
check_work_dir

overrides=("$@")
smoke_overrides=()
if [ -z "$pairs" ] && [ -z "$train_src" ]; then
  pairs=$recipe_dir/local/smoke_test.tsv
  columns=${columns:-eng,deu}
  # A few hundred pairs: more epochs, smaller batches. Command-line overrides still win (they come later).
  smoke_overrides=(trainer.max_epochs=35 data.max_tokens=800 optim.lr=2e-3)
  [ "$src $tgt" = "deu eng" ] || [ "$src $tgt" = "eng deu" ] \
    || { log "error: the embedded smoke test is German-English; --src/--tgt must be deu/eng (or give a corpus)"; exit 1; }
fi
[ "$word2vec" = true ] && [ -z "$exp_tag" ] && exp_tag=_w2v

if in_stages 0; then
  stage_begin 0 "data: $( [ -n "$pairs" ] && echo "pair file $pairs" || echo "Moses files $train_src / $train_tgt")"
  if [ -n "$download_url" ]; then
    [ -n "$pairs" ] || { log "error: --download-url needs --pairs (where the file goes)"; exit 1; }
    python "$recipe_dir/local/download.py" "$download_url" "$pairs"
  fi
  for var in pairs train_src train_tgt dev_src dev_tgt test_src test_tgt; do
    [ -z "${!var}" ] || [ -f "${!var}" ] || { log "error: --${var//_/-} ${!var}: no such file"; exit 1; }
  done
  if [ -n "$pairs" ]; then
    log "$pairs: $(wc -l < "$pairs") lines"
  else
    log "$train_src: $(wc -l < "$train_src") lines; $train_tgt: $(wc -l < "$train_tgt") lines"
  fi
  stage_end
fi

if in_stages 1; then
  stage_begin 1 "clean and split -> data/{train,dev,test}/text.{$src,$tgt} (dropped pairs counted below)"
  if [ -n "$pairs" ]; then
    input=(--pairs "$pairs"); [ -n "$columns" ] && input+=(--columns "$columns")
  else
    input=(--train-src "$train_src" --train-tgt "$train_tgt")
  fi
  [ -n "$dev_src" ] && input+=(--dev-src "$dev_src" --dev-tgt "$dev_tgt")
  [ -n "$test_src" ] && input+=(--test-src "$test_src" --test-tgt "$test_tgt")
  python -m toolkit.bin.prepare_parallel "${input[@]}" --src "$src" --tgt "$tgt" --out data \
    --dev "$dev_size" --test "$test_size" --max-tokens "$max_words" --max-ratio "$max_ratio" \
    --seed "$split_seed" --max-train-pairs "$max_train_pairs"
  stage_end
fi

# Stages 2-6: the generic seq2seq stages, run from this work dir.
[ "$stop_stage" -ge 2 ] || exit 0
"$TOOLKIT_ROOT/recipes/TEMPLATE/seq2seq.sh" --stage "$(( stage > 2 ? stage : 2 ))" --stop-stage "$stop_stage" \
  --task translation --src "$src" --tgt "$tgt" --test-sets "$test_sets" --vocab-size "$vocab_size" \
  --spm-type "$spm_type" --joint-vocab "$joint_vocab" --word2vec "$word2vec" --w2v-epochs "$w2v_epochs" \
  --emb-dim "$emb_dim" --model "$model" --exp-tag "$exp_tag" --overwrite "$overwrite" --threads "$threads" --beam-size "$beam_size" \
  --length-penalty "$length_penalty" --alpha "$alpha" --plot-line "$plot_line" --score bleu \
  --default-overrides "${smoke_overrides[*]}" -- "${overrides[@]}"
