"""A small CTC acoustic model trainer for synthaudio corpora (recipes/digits uses it).

Modules: ``features`` (log-mel features, numpy), ``tokens`` (symbol inventory, greedy CTC
collapse), ``data`` (utterances of a corpus split or a Kaldi directory, feature batches),
``model`` (conv + BiGRU CTC model, torch), ``trainer`` (training loop, decoding). The last
two need torch: install the ``train`` extra. Importing this package does not import torch.
"""
