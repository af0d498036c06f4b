"""Scenario sweeps: many damage combinations on one network, on a serial or Dask executor,
aggregated into probabilities and an asset ranking."""

from .aggregate import SweepResult, aggregate, weighted_quantiles
from .evaluate import SweepBase, evaluate_failures, fingerprint, prepare
from .executors import DaskExecutor, Executor, IncompleteRun, Journal, SerialExecutor
from .model import Expansion, Sweep, SweepAsset, SweepError
from .run import JOURNAL_NAME, open_journal, run_sweep

__all__ = ["JOURNAL_NAME", "DaskExecutor", "Executor", "Expansion", "IncompleteRun", "Journal", "SerialExecutor",
           "Sweep", "SweepAsset", "SweepBase", "SweepError", "SweepResult", "aggregate", "evaluate_failures",
           "fingerprint", "open_journal", "prepare", "run_sweep", "weighted_quantiles"]
