#!/usr/bin/env bash
# Generic text-to-text stages, shared by the translation and summarization recipes (the seq2seq
# counterpart of asr.sh). A corpus recipe writes data/{train,dev,<test sets>}/text.<src> and text.<tgt>
# (its stages 0-1) in the current directory, then calls this script from there:
#
#   "$TOOLKIT_ROOT/recipes/TEMPLATE/seq2seq.sh" --stage 2 --task summarization --src article --tgt title \
#       --test-sets "dev test" --score rouge [hydra overrides...]
#
# Stages: 2 sentencepiece, 3 word2vec (--word2vec true), 4 train, 5 decode (beam), 6 score (BLEU/chrF
# or ROUGE with baselines). Each stage reads only what earlier ones wrote (data/, exp/); rerunning one
# is safe: sentencepiece and word2vec are deterministic and training resumes (or does nothing).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../tools/recipe_utils.sh"

stage=2                # first stage to run
stop_stage=6           # last stage to run
task=translation       # primary config: conf/<task>.yaml
src=src                # source side: data/<set>/text.<src>
tgt=tgt                # target side
test_sets="dev test"   # data sets to decode and score (space- or comma-separated)
vocab_size=8000        # sentencepiece pieces (an upper bound for small corpora)
spm_type=unigram       # sentencepiece model: unigram or bpe
joint_vocab=true       # one sentencepiece model for both sides (needed by copy)
word2vec=false         # stage 3: word2vec vectors initialise the embeddings
w2v_shared=false       # one word2vec model on the source side (+ --w2v-text) for both embeddings, instead of one per side
w2v_text=              # extra monolingual text for word2vec (comma-separated files, already normalised)
w2v_epochs=10          # word2vec epochs
emb_dim=256            # word2vec vector size, and model.emb_dim with --word2vec true
model=seq2seq_gru      # conf/model/<model>.yaml
exp_tag=               # experiment dir suffix: exp/<model>_<src>-<tgt><exp_tag>
overwrite=false        # stage 4: start the experiment over when its dir holds a run with other settings or data
threads=1              # torch CPU threads for training and decoding (0: torch's default)
beam_size=5            # beam search width
length_penalty=gnmt    # none, average or gnmt
alpha=0.6              # length penalty exponent
min_len=0              # shortest output (pieces) the beam search may end
max_len=0              # longest output (pieces); 0: 1.5 x source length + 10
no_repeat_ngram_size=0 # >0: beam search never repeats an n-gram of this size
plot_line=1            # 1-based lines of each decoded set whose attention is plotted (comma-separated; 0: none)
score=bleu             # stage 6: bleu (sacrebleu BLEU and chrF) or rouge (ROUGE-1/2/L with prefix baselines)
default_overrides=     # the recipe's Hydra overrides, placed before the user's (which win)
print_exp_dir=false    # print the experiment dir these options name, run nothing
help_message="Usage: $0 [options] [hydra overrides for training]"
. "$TOOLKIT_ROOT/tools/parse_options.sh"

read -ra defaults <<< "$default_overrides"
overrides=("$@")
test_sets=${test_sets//,/ }
exp=$(python -m toolkit.bin.names translation --model "$model" --src "$src" --tgt "$tgt" --tag "$exp_tag")
if [ "$print_exp_dir" = true ]; then echo "$exp"; exit 0; fi
spm_dir=data/lang/joint

w2v_overrides=()
if [ "$word2vec" = true ]; then
  if [ "$w2v_shared" = true ]; then
    w2v_overrides+=("embeddings.src=exp/word2vec_$src/vectors.model" "embeddings.tgt=exp/word2vec_$src/vectors.model")
  else
    w2v_overrides+=("embeddings.src=exp/word2vec_$src/vectors.model" "embeddings.tgt=exp/word2vec_$tgt/vectors.model")
  fi
  w2v_overrides+=("model.emb_dim=$emb_dim")
fi

if in_stages 2; then
  stage_begin 2 "sentencepiece ($spm_type, $vocab_size pieces, joint=$joint_vocab) -> data/lang"
  separate=(); [ "$joint_vocab" = true ] || separate=(--separate)
  python -m toolkit.bin.train_spm --src-text "data/train/text.$src" --tgt-text "data/train/text.$tgt" \
    --out data/lang --vocab-size "$vocab_size" --model-type "$spm_type" "${separate[@]}"
  stage_end
fi

if in_stages 3; then
  if [ "$word2vec" = true ]; then
    if [ "$w2v_shared" = true ]; then
      [ "$joint_vocab" = true ] || { log "error: --w2v-shared true needs --joint-vocab true"; exit 1; }
      corpora=(--corpus "data/train/text.$src")
      for f in ${w2v_text//,/ }; do corpora+=(--corpus "$f"); done
      stage_begin 3 "word2vec (skip-gram, $emb_dim dims) on the training sources${w2v_text:+ and $w2v_text}, for both embeddings"
      python -m toolkit.bin.train_word2vec "${corpora[@]}" --spm "$spm_dir/spm.model" --out "exp/word2vec_$src" \
        --dim "$emb_dim" --epochs "$w2v_epochs" --min-count 1
    else
      stage_begin 3 "word2vec (skip-gram, $emb_dim dims) on the training pieces of each side"
      for side in src tgt; do
        name=${!side}
        spm=$spm_dir/spm.model; [ "$joint_vocab" = true ] || spm=data/lang/$side/spm.model
        python -m toolkit.bin.train_word2vec --corpus "data/train/text.$name" --spm "$spm" --out "exp/word2vec_$name" \
          --dim "$emb_dim" --epochs "$w2v_epochs" --min-count 1
      done
    fi
    stage_end
  else
    log "Stage 3: word2vec skipped (--word2vec false): embeddings start random"
  fi
fi

if in_stages 4; then
  stage_begin 4 "train $model -> $exp"
  start_over=(); if [ "$overwrite" = true ]; then start_over=(+overwrite=true); fi
  python -m toolkit.bin.train --config-name "$task" model="$model" exp_dir="$exp" src="$src" tgt="$tgt" \
    data.train=data/train data.dev=data/dev data.lang=data/lang threads="$threads" \
    trainer.progress=false "${defaults[@]}" "${w2v_overrides[@]}" "${overrides[@]}" "${start_over[@]}"
  stage_end
fi

if in_stages 5; then
  stage_begin 5 "decode $test_sets (beam $beam_size, length penalty $length_penalty $alpha)"
  limits=(); [ "$min_len" -gt 0 ] && limits+=(--min-len "$min_len")
  [ "$max_len" -gt 0 ] && limits+=(--max-len-a 0 --max-len-b "$max_len")
  [ "$no_repeat_ngram_size" -gt 0 ] && limits+=(--no-repeat-ngram-size "$no_repeat_ngram_size")
  for set in $test_sets; do
    dir=$exp/decode_$set
    plot=(); [ "$plot_line" != 0 ] && plot=(--plot-attention "$plot_line")
    python -m toolkit.bin.translate --exp "$exp" --decode seq2seq_beam --beam-size "$beam_size" \
      --length-penalty "$length_penalty" --alpha "$alpha" --threads "$threads" "${limits[@]}" \
      --summary "$dir/decode.json" --attention-out "$dir/attention.jsonl" "${plot[@]}" \
      "data/$set/text.$src" "$dir/hyp.$tgt"
  done
  stage_end
fi

if in_stages 6; then
  if [ "$score" = rouge ]; then
    stage_begin 6 "score (ROUGE-1/2/L F1, rouge-score with stemming; prefix and whole-source baselines)"
    for set in $test_sets; do
      dir=$exp/decode_$set
      log "$set:"
      python -m toolkit.bin.score_summaries --src "data/$set/text.$src" --ref "data/$set/text.$tgt" \
        --hyp "$dir/hyp.$tgt" --out-dir "$dir" >&2
    done
    python -m toolkit.bin.show_summarization_results exp
  else
    stage_begin 6 "score (sacrebleu BLEU and chrF on detokenised text)"
    for set in $test_sets; do
      dir=$exp/decode_$set
      log "$set:"
      python -m toolkit.bin.score_translation --ref "data/$set/text.$tgt" --hyp "$dir/hyp.$tgt" --out-dir "$dir" >&2
    done
    python -m toolkit.bin.show_translation_results exp
  fi
  stage_end
fi
