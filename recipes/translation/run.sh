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
# Stages: 0 data, 1 clean + split, 2 sentencepiece, 3 word2vec (--word2vec true), 4 train,
# 5 decode (beam), 6 score (BLEU, chrF). Each stage reads only what earlier ones wrote (data/, exp/);
# rerunning one is safe: preparation is deterministic and training resumes (or does nothing).
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
threads=1              # torch CPU threads for training and decoding (0: torch's default, slow on a busy CPU)
test_sets=dev,test     # data sets to decode and score (comma-separated)
beam_size=5            # beam search width
length_penalty=gnmt    # none, average or gnmt
alpha=0.6              # length penalty exponent
plot_line=1            # 1-based line of each decoded set whose attention is plotted (0: none)
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
exp=$(python -m toolkit.bin.names translation --model "$model" --src "$src" --tgt "$tgt" --tag "$exp_tag")
spm_dir=data/lang/joint

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

if in_stages 2; then
  stage_begin 2 "sentencepiece ($spm_type, $vocab_size pieces, joint=$joint_vocab) -> data/lang"
  separate=(); [ "$joint_vocab" = true ] || separate=(--separate)
  python -m toolkit.bin.train_spm --src-text "data/train/text.$src" --tgt-text "data/train/text.$tgt" \
    --out data/lang --vocab-size "$vocab_size" --model-type "$spm_type" "${separate[@]}"
  stage_end
fi

w2v_overrides=()
if [ "$word2vec" = true ]; then
  for side in src tgt; do
    lang=${!side}
    w2v_overrides+=("embeddings.$side=exp/word2vec_$lang/vectors.model")
  done
  w2v_overrides+=("model.emb_dim=$emb_dim")
fi

if in_stages 3; then
  if [ "$word2vec" = true ]; then
    stage_begin 3 "word2vec (skip-gram, $emb_dim dims) on the training pieces of each side"
    for side in src tgt; do
      lang=${!side}
      spm=$spm_dir/spm.model; [ "$joint_vocab" = true ] || spm=data/lang/$side/spm.model
      python -m toolkit.bin.train_word2vec --corpus "data/train/text.$lang" --spm "$spm" --out "exp/word2vec_$lang" \
        --dim "$emb_dim" --epochs "$w2v_epochs" --min-count 1
    done
    stage_end
  else
    log "Stage 3: word2vec skipped (--word2vec false): embeddings start random"
  fi
fi

if in_stages 4; then
  stage_begin 4 "train $model -> $exp"
  python -m toolkit.bin.train --config-name translation model="$model" exp_dir="$exp" src="$src" tgt="$tgt" \
    data.train=data/train data.dev=data/dev data.lang=data/lang threads="$threads" \
    trainer.progress=false "${smoke_overrides[@]}" "${w2v_overrides[@]}" "${overrides[@]}"
  stage_end
fi

if in_stages 5; then
  stage_begin 5 "decode ${test_sets//,/ } (beam $beam_size, length penalty $length_penalty $alpha)"
  for set in ${test_sets//,/ }; do
    dir=$exp/decode_$set
    plot=(); [ "$plot_line" -gt 0 ] && plot=(--plot-attention "$plot_line")
    python -m toolkit.bin.translate --exp "$exp" --decode seq2seq_beam --beam-size "$beam_size" \
      --length-penalty "$length_penalty" --alpha "$alpha" --threads "$threads" \
      --summary "$dir/decode.json" --attention-out "$dir/attention.jsonl" "${plot[@]}" \
      "data/$set/text.$src" "$dir/hyp.$tgt"
  done
  stage_end
fi

if in_stages 6; then
  stage_begin 6 "score (sacrebleu BLEU and chrF on detokenised text)"
  for set in ${test_sets//,/ }; do
    dir=$exp/decode_$set
    log "$set:"
    python -m toolkit.bin.score_translation --ref "data/$set/text.$tgt" --hyp "$dir/hyp.$tgt" --out-dir "$dir" >&2
  done
  python -m toolkit.bin.show_translation_results exp
  stage_end
fi
