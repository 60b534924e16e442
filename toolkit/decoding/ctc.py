"""CTC decoding: prefix beam search with an optional phone bigram.

Both take per-frame log-probabilities `log_probs: (B, T, V)` over V output symbols, one of them the
blank (`blank`, default 0), with `lengths: (B,)` valid frames per utterance, and return B lists of
symbol ids (blank never appears). Greedy (best path) decoding lives with the models
(`toolkit.models.greedy`), since training uses it for dev metrics.

Prefix beam search keeps, for each of at most `beam_size` label prefixes, the log-probability of all
alignments of the frames so far that collapse to the prefix, split into those ending in blank and
those ending in the prefix's last symbol (Graves 2012; Hannun et al. 2014). A prefix is ranked by

    log P_ctc(prefix) + lm_weight * log P_lm(prefix) + insertion_bonus * len(prefix)

where the bigram scores `<s>` before the first symbol, and at the end `</s>` after the last. With a
beam wide enough to hold every prefix the search is exact: it returns the label sequence with the
highest total probability summed over its alignments, which can differ from the greedy best path.
`beam_size=1` is not greedy decoding either: it keeps the single best *prefix* per frame.
"""
import math

import numpy as np
import torch

from toolkit.models.greedy import check_log_probs, valid_lengths

_NEG_INF = -math.inf


def ctc_prefix_beam_search(log_probs: torch.Tensor, lengths: torch.Tensor | None = None,
                           blank: int = 0, beam_size: int = 10, lm: torch.Tensor | None = None,
                           lm_weight: float = 0.0, insertion_bonus: float = 0.0) -> list[list[int]]:
    """Best label sequence per utterance by CTC prefix beam search (see the module docstring).

    log_probs: (B, T, V) log-softmax outputs. lengths: (B,) or None for all T.
    lm: (V+1, V+1) natural-log bigram over the same V symbols, row V = <s>, column V = </s>; the
        blank's row and column are ignored (`PhoneBigramLM.log_prob_matrix(symbols, missing=[blank_symbol])`).
    lm_weight: LM scale; insertion_bonus: added per emitted symbol (positive = longer outputs).
    """
    check_log_probs(log_probs, blank)
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    b, t_max, v = log_probs.shape
    lens = valid_lengths(lengths, b, t_max)
    lm_np = None
    if lm is not None:
        if lm.shape != (v + 1, v + 1):
            raise ValueError(f"lm must be ({v + 1}, {v + 1}) for {v} symbols, got {tuple(lm.shape)}")
        lm64 = lm.detach().to("cpu", torch.float64)
        lm_np = torch.where(torch.isneginf(lm64), lm64, lm64 * lm_weight).numpy()
    lp = log_probs.detach().to("cpu", torch.float64).numpy()
    return [_beam_search(lp[i, :n], blank, beam_size, lm_np, insertion_bonus) for i, n in enumerate(lens)]


def _beam_search(lp: np.ndarray, blank: int, beam: int, lm: np.ndarray | None, bonus: float) -> list[int]:
    """Prefix beam search over one utterance. lp: (T, V); lm: (V+1, V+1) already weighted, or None."""
    v = lp.shape[1]
    prefixes: list[tuple[int, ...]] = [()]
    p_blank = np.array([0.0])        # (K,) log P(alignments ending in blank)
    p_label = np.array([_NEG_INF])   # (K,) log P(alignments ending in the last label)
    lm_score = np.array([0.0])       # (K,) weighted LM score + insertion bonus so far
    last = np.array([v])             # (K,) last label; v = none yet (the LM's <s> row)
    for row in lp:
        total = np.logaddexp(p_blank, p_label)
        has_last = last < v
        last_lp = row[np.minimum(last, v - 1)]
        # Staying on a prefix: a blank, or a repeat of the last label without a blank in between.
        stay_blank = total + row[blank]
        stay_label = np.where(has_last, p_label + last_lp, _NEG_INF)
        # Extending prefix k by label c; repeating the last label needs a blank in between.
        ext = total[:, None] + row[None, :]                                      # (K, V)
        rows = np.nonzero(has_last)[0]
        ext[rows, last[rows]] = p_blank[rows] + last_lp[rows]
        ext[:, blank] = _NEG_INF
        ext_lm = lm_score[:, None] + bonus + (lm[last, :v] if lm is not None else np.zeros((len(last), v)))
        # An extension that equals a prefix already in the beam adds to that prefix instead.
        index = {p: k for k, p in enumerate(prefixes)}
        for j, p in enumerate(prefixes):
            parent = index.get(p[:-1]) if p else None
            if parent is not None:
                stay_label[j] = np.logaddexp(stay_label[j], ext[parent, p[-1]])
                ext[parent, p[-1]] = _NEG_INF

        n_hyp = len(prefixes)
        scores = np.concatenate([np.logaddexp(stay_blank, stay_label) + lm_score, (ext + ext_lm).ravel()])
        order = np.argsort(-scores, kind="stable")[:beam]
        order = order[np.isfinite(scores[order])]
        if len(order) == 0:
            raise ValueError("CTC prefix beam search: every prefix has probability zero")
        stayed = order[order < n_hyp]
        k_ext, lab_ext = np.divmod(order[order >= n_hyp] - n_hyp, v)
        prefixes = [prefixes[k] for k in stayed.tolist()] + \
                   [prefixes[k] + (lab,) for k, lab in zip(k_ext.tolist(), lab_ext.tolist())]
        p_blank = np.concatenate([stay_blank[stayed], np.full(len(k_ext), _NEG_INF)])
        p_label = np.concatenate([stay_label[stayed], ext[k_ext, lab_ext]])
        lm_score = np.concatenate([lm_score[stayed], ext_lm[k_ext, lab_ext]])
        last = np.concatenate([last[stayed], lab_ext])
    final = np.logaddexp(p_blank, p_label) + lm_score + (lm[last, v] if lm is not None else 0.0)
    return list(prefixes[int(np.argmax(final))])
