"""The pipelines on the run engine, one folder each (see :mod:`synthaudio.run.pipelines`)."""
