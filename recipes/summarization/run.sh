#!/usr/bin/env bash
# Headline generation (Rush et al. 2015 style: a news story's lead sentence in, its headline out) with an
# attention encoder-decoder, pointer-generator copying and optional coverage (See et al. 2017), on
# sentencepiece pieces. Without corpus options it runs on the embedded sample (local/sample.tsv: 800
# lead/headline pairs the project generated from templates, local/make_sample.py; a pipeline check,
# not a benchmark), offline, in a few minutes on 2 CPU cores.
#
# Like a Kaldi recipe it works in the current directory (data/ exp/ go there):
#
#   cd recipes/summarization && ./run.sh                                     # embedded sample, all stages
#   ./run.sh --reuters /data/reuters21578                                    # Reuters-21578 SGML (dir, file or tarball)
#   ./run.sh --train-src train.article.txt --train-tgt train.title.txt \
#            --dev-src valid.article.txt --dev-tgt valid.title.txt --digits true   # Gigaword-style files
#   ./run.sh --pairs pairs.tsv --test-sets "duc=duc.tsv,giga=test.article.txt:test.title.txt"
#   ./run.sh --stage 3 --word2vec true --w2v-text news.txt                   # word2vec-initialised embeddings
#
# Stages: 0 data (checks), 1 read + normalise + split (here; toolkit/corpora/{reuters,headlines}.py),
# then recipes/TEMPLATE/seq2seq.sh: 2 sentencepiece (joint: copying needs it), 3 word2vec, 4 train,
# 5 decode (beam, no_repeat_ngram_size, min/max length), 6 score (ROUGE-1/2/L with prefix baselines).
set -euo pipefail
recipe_dir=$(cd "$(dirname "$0")" && pwd)
. "$recipe_dir/../../tools/recipe_utils.sh"

stage=0                # first stage to run
stop_stage=6           # last stage to run
reuters=               # Reuters-21578: a reut2-*.sgm file, a dir of them, or the tarball (research-only licence)
pairs=                 # source<TAB>target file
train_src=             # Gigaword-style article file (line-aligned with --train-tgt)
train_tgt=             # Gigaword-style title file
dev_src=               # optional dev article/title files (default: split off the training pairs)
dev_tgt=               # target side of --dev-src
test_src=              # optional test article/title files (default: split off the training pairs)
test_tgt=              # target side of --test-src
test_sets=             # extra test sets, comma-separated: NAME=FILE.tsv or NAME=ARTICLE:TITLE (decoded and scored too)
monolingual=           # extra text for word2vec (comma-separated files; normalised like the pairs)
lowercase=true         # lowercase both sides (Reuters headlines are upper case)
digits=false           # every digit -> '#' (the Gigaword convention)
max_words=80           # drop pairs whose source is longer (words)
dev_size=auto          # dev pairs to split off: count, fraction or auto (10%, at most 1000)
test_size=auto         # test pairs to split off: count, fraction or auto (10%, at most 2000)
split_seed=0           # seed of the deterministic split
vocab_size=4000        # sentencepiece pieces (an upper bound for small corpora)
copy=true              # pointer-generator copying (model.copy)
coverage=false         # coverage vector + coverage loss (model.coverage, coverage_weight=1)
word2vec=false         # stage 3: word2vec on the training sources (+ --monolingual) initialises both embeddings
w2v_epochs=10          # word2vec epochs
emb_dim=128            # model.emb_dim, and the word2vec vector size (the same with and without --word2vec)
model=seq2seq_gru      # conf/model/<model>.yaml
exp_tag=               # experiment dir suffix (default: _copy, _cov, _w2v from the options)
overwrite=false        # stage 4: start the experiment over when its dir holds a run with other settings or data
threads=1              # torch CPU threads for training and decoding
beam_size=5            # beam search width
length_penalty=gnmt    # none, average or gnmt
alpha=0.6              # length penalty exponent
min_len=2              # shortest headline (pieces)
max_len=30             # longest headline (pieces)
no_repeat_ngram_size=3 # the beam never repeats a 3-gram (0: off)
plot_line=1,2          # 1-based lines of each decoded set whose attention (and p_gen) is plotted (0: none)
help_message="Usage: $0 [options] [hydra overrides for training]\n  e.g. $0 --reuters /data/reuters21578 trainer.max_epochs=5"
. "$TOOLKIT_ROOT/tools/parse_options.sh"

overrides=("$@")
sample_overrides=()
if [ -z "$reuters" ] && [ -z "$pairs" ] && [ -z "$train_src" ]; then
  pairs=$recipe_dir/local/sample.tsv
  log "no corpus given: the embedded sample $pairs (generated lead/headline pairs; a pipeline check, not a benchmark)"
  # 800 pairs: a small model, more epochs. Command-line overrides still win (they come later).
  sample_overrides=(model.enc_hidden=64 model.dec_hidden=128 model.attn_dim=64
                    trainer.max_epochs=20 data.max_tokens=1500 optim.lr=3e-3)
fi
if [ -z "$exp_tag" ]; then
  [ "$copy" = true ] && exp_tag+=_copy
  [ "$coverage" = true ] && exp_tag+=_cov
  [ "$word2vec" = true ] && exp_tag+=_w2v
fi
model_overrides=("model.copy=$copy" "model.coverage=$coverage" "model.emb_dim=$emb_dim")
[ "$coverage" = true ] && model_overrides+=(coverage_weight=1.0)

extra_names=()
for spec in ${test_sets//,/ }; do extra_names+=("${spec%%=*}"); done

if in_stages 0; then
  stage_begin 0 "data: $( [ -n "$reuters" ] && echo "Reuters SGML $reuters" || { [ -n "$pairs" ] && echo "pair file $pairs"; } || echo "article/title files $train_src / $train_tgt")"
  for var in reuters pairs train_src train_tgt dev_src dev_tgt test_src test_tgt; do
    [ -z "${!var}" ] || [ -e "${!var}" ] || { log "error: --${var//_/-} ${!var}: no such file"; exit 1; }
  done
  [ -n "$pairs" ] && log "$pairs: $(wc -l < "$pairs") lines"
  [ -n "$train_src" ] && log "$train_src: $(wc -l < "$train_src") lines; $train_tgt: $(wc -l < "$train_tgt") lines"
  stage_end
fi

if in_stages 1; then
  stage_begin 1 "read, normalise (lowercase=$lowercase digits=$digits) and split -> data/{train,dev,test${extra_names[*]:+,${extra_names[*]// /,}}}"
  input=()
  [ -n "$reuters" ] && input+=(--reuters "$reuters")
  [ -n "$pairs" ] && input+=(--pairs "$pairs")
  [ -n "$train_src" ] && input+=(--train-src "$train_src" --train-tgt "$train_tgt")
  [ -n "$dev_src" ] && input+=(--dev-src "$dev_src" --dev-tgt "$dev_tgt")
  [ -n "$test_src" ] && input+=(--test-src "$test_src" --test-tgt "$test_tgt")
  for spec in ${test_sets//,/ }; do input+=(--extra-test "$spec"); done
  for f in ${monolingual//,/ }; do input+=(--monolingual "$f"); done
  [ "$lowercase" = true ] && input+=(--lowercase)
  [ "$digits" = true ] && input+=(--digits)
  python -m toolkit.bin.prepare_headlines "${input[@]}" --out data --max-words "$max_words" \
    --dev "$dev_size" --test "$test_size" --seed "$split_seed"
  stage_end
fi

[ "$stop_stage" -ge 2 ] || exit 0
w2v_text=; [ -n "$monolingual" ] && w2v_text=data/monolingual/text.article
"$TOOLKIT_ROOT/recipes/TEMPLATE/seq2seq.sh" --stage "$(( stage > 2 ? stage : 2 ))" --stop-stage "$stop_stage" \
  --task summarization --src article --tgt title --test-sets "dev test ${extra_names[*]}" \
  --vocab-size "$vocab_size" --joint-vocab true --word2vec "$word2vec" --w2v-shared true --w2v-text "$w2v_text" \
  --w2v-epochs "$w2v_epochs" --emb-dim "$emb_dim" --model "$model" --exp-tag "$exp_tag" --overwrite "$overwrite" --threads "$threads" \
  --beam-size "$beam_size" --length-penalty "$length_penalty" --alpha "$alpha" --min-len "$min_len" \
  --max-len "$max_len" --no-repeat-ngram-size "$no_repeat_ngram_size" --plot-line "$plot_line" --score rouge \
  --default-overrides "${sample_overrides[*]} ${model_overrides[*]}" -- "${overrides[@]}"
