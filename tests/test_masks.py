"""toolkit.utils.masks: the padding mask every layer shares."""
import torch

from toolkit.utils.masks import lengths_to_mask


def test_mask_marks_real_steps():
    mask = lengths_to_mask(torch.tensor([3, 0, 1]))
    assert mask.dtype == torch.bool
    assert mask.tolist() == [[True, True, True], [False, False, False], [True, False, False]]


def test_max_len_sets_the_padded_length():
    lengths = torch.tensor([2, 4])
    assert lengths_to_mask(lengths, 6).tolist() == [[True] * 2 + [False] * 4, [True] * 4 + [False] * 2]
    assert lengths_to_mask(lengths, 6).sum(1).tolist() == [2, 4]


def test_empty_batch():
    assert lengths_to_mask(torch.zeros(0, dtype=torch.long)).shape == (0, 0)
    assert lengths_to_mask(torch.zeros(0, dtype=torch.long), 5).shape == (0, 5)
