"""Optional subpackage: a small CTC acoustic model trainer for synthaudio corpora.

**Not part of the core.** ``synthaudio.train`` sits above every core layer (it reads
corpora and Kaldi dirs through :mod:`synthaudio.manifests` and :mod:`synthaudio.io.kaldi`,
scores with :mod:`synthaudio.evaluate`) and nothing in the core imports it (a test checks
this). It needs torch for ``model`` and ``trainer``: install the ``train`` extra
(``pip install 'synthaudio[train]'``); without torch those two raise an ImportError saying
so, and importing this package itself does not import torch.

Why a subpackage and not a folder under ``recipes/``: recipes/digits and the recipe tests
import it as a library (``from synthaudio.train.data import ...``), so it must be
installable and importable from anywhere, and a second recipe should reuse it rather than
copy it. It is kept at arm's length from the core instead: an extra, not a dependency.

Modules: ``features`` (log-mel features, numpy), ``tokens`` (symbol inventory, greedy CTC
collapse), ``data`` (utterances of a corpus split or a Kaldi directory, feature batches),
``model`` (conv + BiGRU and embedding CTC models, torch), ``trainer`` (training loop,
decoding), ``embedding`` (the speech embedding front end), ``whisper_frames`` (Whisper's
encoder as a front end on the same 80 ms grid), ``frontends`` (the front ends by name: what
each gives a clip and a stream, and how a saved model names its own), ``classifier`` (a
keyword classifier head over them), ``detect`` (keyword detection in long recordings),
``views`` (speed and 8 kHz renderings of training audio through the embedding), ``ensemble``
(CTC models decoded together).
"""
