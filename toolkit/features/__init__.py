"""Feature frontends (Kaldi fbank/MFCC, learnable mel, gammatone: batched nn.Modules), CMVN, deltas, splicing,
and extraction to ark/scp."""
from toolkit.data.cmvn import accumulate_cmvn_stats, apply_cmvn, cmvn_stats, read_cmvn_stats, write_cmvn_stats
from toolkit.features.cmvn import GlobalCMVN, utterance_cmn
from toolkit.features.deltas import AddDeltas, add_deltas, delta_filters
from toolkit.features.extract import compute_cmvn_stats, extract_features
from toolkit.features.gammatone import Gammatone, GammatoneFilterbank
from toolkit.features.kaldi import Fbank, Mfcc
from toolkit.features.splice import Splice, splice_feats

__all__ = ["Fbank", "Mfcc", "Gammatone", "GammatoneFilterbank", "GlobalCMVN", "cmvn_stats", "accumulate_cmvn_stats",
           "apply_cmvn", "read_cmvn_stats", "write_cmvn_stats", "AddDeltas", "add_deltas", "delta_filters", "Splice",
           "splice_feats", "extract_features", "compute_cmvn_stats", "utterance_cmn"]
