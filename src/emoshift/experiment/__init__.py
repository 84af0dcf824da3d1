"""Experiments: reproduce the paper's evaluation on any set of videos.

``emoshift experiment VIDEO... --emotions all --out DIR`` runs every video x emotion x arm
(full EDA, animation-only baseline, speech only), evaluates every output against its source,
and writes the paper's Tables 1-4 and Figures 3-5 as Markdown, HTML and CSV.

* :mod:`~emoshift.experiment.plan` - items, arms, settings, config hashes
* :mod:`~emoshift.experiment.store` - the experiment folder, atomic results, resume state
* :mod:`~emoshift.experiment.runner` - serial / process-pool / Ray executors
* :mod:`~emoshift.experiment.evaluation` - evaluation with the source's analysis cached
* :mod:`~emoshift.experiment.report` - tables, figures, CSVs, self-contained HTML
"""

from emoshift.experiment.plan import (
    ARMS,
    DEFAULT_ARMS,
    ExperimentConfig,
    Item,
    Plan,
    make_plan,
    parse_arms,
    parse_emotions,
)
from emoshift.experiment.report import write_report
from emoshift.experiment.runner import RunnerOptions, RunSummary, run_experiment, run_plan
from emoshift.experiment.store import ExperimentStore

__all__ = [
    "ARMS",
    "DEFAULT_ARMS",
    "ExperimentConfig",
    "ExperimentStore",
    "Item",
    "Plan",
    "RunSummary",
    "RunnerOptions",
    "make_plan",
    "parse_arms",
    "parse_emotions",
    "run_experiment",
    "run_plan",
    "write_report",
]
