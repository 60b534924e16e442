"""Greedy decoding of a model's frame outputs: the quick search behind dev metrics during training.

`ctc_greedy_decode` (best path of a CTC model) and `argmax_collapse` (best phone per frame of a frame
classifier) live with the models because both training (dev PER) and decoding use them; the full
searches (CTC prefix beam, Viterbi with a phone bigram) are in `toolkit.decoding`.
"""
import torch


def ctc_greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor | None = None,
                      blank: int = 0) -> list[list[int]]:
    """Best path: frame-wise argmax, merge repeats, drop blanks. log_probs: (B, T, V)."""
    check_log_probs(log_probs, blank)
    b, t_max, _ = log_probs.shape
    lens = valid_lengths(lengths, b, t_max)
    best = log_probs.argmax(dim=-1).cpu()  # (B, T)
    out = []
    for i, n in enumerate(lens):
        path = torch.unique_consecutive(best[i, :n])
        out.append(path[path != blank].tolist())
    return out


def argmax_collapse(log_post: torch.Tensor) -> list[int]:
    """Frame-wise best phone with consecutive repeats merged. log_post: (T, V) -> phone ids."""
    if log_post.dim() != 2:
        raise ValueError(f"log_post must be (T, V), got shape {tuple(log_post.shape)}")
    return torch.unique_consecutive(log_post.argmax(dim=-1)).tolist()


def check_log_probs(log_probs: torch.Tensor, blank: int) -> None:
    """ValueError unless log_probs is (B, T, V) and blank one of its V columns."""
    if log_probs.dim() != 3:
        raise ValueError(f"log_probs must be (B, T, V), got shape {tuple(log_probs.shape)}")
    if not 0 <= blank < log_probs.shape[-1]:
        raise ValueError(f"blank index {blank} outside 0..{log_probs.shape[-1] - 1}")


def valid_lengths(lengths: torch.Tensor | None, b: int, t_max: int) -> list[int]:
    """Valid frames per utterance as a list (all t_max when lengths is None), checked against the batch."""
    if lengths is None:
        return [t_max] * b
    lens = lengths.tolist()
    if len(lens) != b or any(not 0 <= n <= t_max for n in lens):
        raise ValueError(f"lengths {lens} do not fit a batch of {b} utterances of at most {t_max} frames")
    return lens
