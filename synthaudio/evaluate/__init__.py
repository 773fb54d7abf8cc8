"""Evaluation: ASR backends, jiwer scoring, breakdowns by condition, the HTML report.

Modules: normalizer, scoring, conditions, lm, asr, evaluate, plots, report, kws.
"""
