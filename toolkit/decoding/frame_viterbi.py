"""Hybrid-style decoding of frame-level phone posteriors: Viterbi search with a phone bigram.

The search graph (one "phone loop", as in the usual TIMIT hybrid phone recogniser):

- every phone is a left-to-right chain of `min_duration` states whose last state has a self-loop,
  so a phone lasts at least `min_duration` frames (1 = the plain one-state self-loop model);
- from the last state of any phone the path may enter the first state of any phone, the same phone
  included: re-entering a phone through the bigram is how `a a` is decoded, while staying in the
  self-loop only lengthens the current `a`;
- entering phone w after phone u (or after <s>) costs `lm_weight * lm[u, w] - insertion_penalty`;
  leaving the last phone u at the end of the utterance adds `lm_weight * lm[u, </s>]`;
- each frame t spent in phone v adds the acoustic score `log_post[t, v] - prior_scale * log_prior[v]`
  (with priors: a scaled log-likelihood, the hybrid recipe; without: the log-posterior itself).

The best path maximises the sum of these scores; its phone sequence is returned. Transition
probabilities are not modelled separately: a self-loop probability p shared by all phones would add
exactly n * log((1-p)/p) to a path with n phones, which is an insertion penalty, so tune
`insertion_penalty` (positive = fewer phones) and `lm_weight` on the dev set instead.

The search is vectorised over states and over a batch of utterances (a (B, V, V) max per frame),
runs on whatever device the input is on, and traces back on the CPU.
"""
import math

import torch


def viterbi_decode(log_post: torch.Tensor, lengths: torch.Tensor | None = None,
                   lm: torch.Tensor | None = None, *, lm_weight: float = 1.0,
                   insertion_penalty: float = 0.0, min_duration: int = 1,
                   log_prior: torch.Tensor | None = None, prior_scale: float = 1.0) -> list[list[int]]:
    """Best phone sequence per utterance through the phone loop described in the module docstring.

    log_post: (B, T, V) frame log-posteriors (one utterance: `viterbi_decode(x[None])[0]`).
    lengths: (B,) valid frames per utterance; None = all T.
    lm: (V+1, V+1) natural-log bigram, row V = <s>, column V = </s>
        (`PhoneBigramLM.log_prob_matrix(symbols)`); None = no LM (all transitions free).
    lm_weight: scale of the LM scores relative to the acoustic scores.
    insertion_penalty: subtracted once per decoded phone.
    min_duration: frames every phone lasts at least; an utterance shorter than that is a ValueError.
    log_prior: (V,) natural-log phone priors (e.g. from training alignments), subtracted from the
        log-posteriors times `prior_scale` to give scaled likelihoods.
    Returns B lists of phone ids (columns of `log_post`).
    """
    if log_post.dim() != 3:
        raise ValueError(f"log_post must be (B, T, V), got shape {tuple(log_post.shape)}")
    b, t_max, v = log_post.shape
    dev = log_post.device
    dtype = log_post.dtype if log_post.is_floating_point() else torch.float32
    k = int(min_duration)
    if k < 1:
        raise ValueError(f"min_duration must be >= 1, got {min_duration}")
    if lengths is None:
        lengths = torch.full((b,), t_max, dtype=torch.long)
    lengths = lengths.to(device="cpu", dtype=torch.long)
    if lengths.shape != (b,):
        raise ValueError(f"lengths must be ({b},) for a batch of {b}, got shape {tuple(lengths.shape)}")
    for i, n in enumerate(lengths.tolist()):
        if not k <= n <= t_max:
            raise ValueError(f"utterance {i} in the batch has {n} frames; need {k} <= frames <= {t_max}"
                             f" (min_duration={k})")

    ac = log_post.to(dtype)
    if log_prior is not None:
        ac = ac - prior_scale * log_prior.to(device=dev, dtype=dtype)
    if lm is None:
        lm = torch.zeros(v + 1, v + 1)
    if lm.shape != (v + 1, v + 1):
        raise ValueError(f"lm must be ({v + 1}, {v + 1}) for {v} phones, got {tuple(lm.shape)}")
    lm = lm.to(device=dev, dtype=dtype)
    scaled = torch.where(torch.isneginf(lm), lm, lm * lm_weight)  # keep -inf when lm_weight == 0
    enter_t = (scaled[:v, :v] - insertion_penalty).T.contiguous()  # (V_new, V_last): last phone -> new
    start = scaled[v, :v] - insertion_penalty   # (V,): <s> -> first phone
    end = scaled[:v, v]                          # (V,): last phone -> </s>

    # delta[b, p, j]: best score of a path ending now in state j of phone p.
    delta = torch.full((b, v, k), -math.inf, dtype=dtype, device=dev)
    delta[:, :, 0] = start + ac[:, 0]
    from_phone = torch.zeros((b, t_max, v), dtype=torch.long, device=dev)   # entry at t: previous phone
    looped = torch.zeros((b, t_max, v), dtype=torch.bool, device=dev)       # last state at t: by self-loop
    lens_dev = lengths.to(dev)
    for t in range(1, t_max):
        last = delta[:, :, k - 1]                                     # (B, V)
        entry, best_prev = (last[:, None, :] + enter_t).max(dim=-1)   # (B, V) over the previous phone
        new = torch.empty_like(delta)
        behind = entry if k == 1 else delta[:, :, k - 2]              # what precedes the last state
        if k > 1:
            new[:, :, 0] = entry
            new[:, :, 1:k - 1] = delta[:, :, 0:k - 2]
        stay = last >= behind                                         # ties: keep the current phone
        new[:, :, k - 1] = torch.maximum(last, behind)
        new += ac[:, t, :, None]
        active = (t < lens_dev)[:, None, None]
        delta = torch.where(active, new, delta)
        from_phone[:, t] = best_prev
        looped[:, t] = stay

    final = delta[:, :, k - 1] + end                                  # (B, V)
    best_score, best_last = final.max(dim=1)
    from_phone, looped = from_phone.cpu().numpy(), looped.cpu().numpy()
    out = []
    for i, (n, score, p) in enumerate(zip(lengths.tolist(), best_score.tolist(), best_last.tolist())):
        if score == -math.inf:
            raise ValueError(f"utterance {i} in the batch: no path has a finite score (check the lm)")
        out.append(_trace(from_phone[i], looped[i], n, p, k))
    return out


def _trace(from_phone, looped, n_frames: int, phone: int, k: int) -> list[int]:
    """Follow the back-pointers from (last frame, last state of `phone`) to frame 0."""
    phones = []
    state = k - 1
    for t in range(n_frames - 1, -1, -1):
        if t > 0 and state == k - 1 and looped[t, phone]:
            continue                      # self-loop: same state one frame earlier
        if state > 0:
            state -= 1                    # came from the previous state of the chain
            continue
        phones.append(phone)              # first state: the phone was entered at frame t
        phone, state = int(from_phone[t, phone]), k - 1
    return phones[::-1]
