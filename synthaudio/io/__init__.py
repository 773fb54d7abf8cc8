"""Reading and writing files: the atomic writer, Kaldi tables, the typed metadata reader,
importers of real corpora."""
