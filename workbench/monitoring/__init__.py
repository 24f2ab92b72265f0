"""Model Monitor: baselines, schedules and drift reports over endpoints' captured data.

SageMaker v2's names (``DefaultModelMonitor``, ``CronExpressionGenerator``,
``MonitoringExecution``, ``DatasetFormat``); pandas loads only when a baseline or an
execution runs.

Example
-------
>>> from workbench.monitoring import CronExpressionGenerator, DefaultModelMonitor
>>> monitor = DefaultModelMonitor()                                    # doctest: +SKIP
>>> monitor.suggest_baseline(train_df, exclude=["y"])                  # doctest: +SKIP
>>> monitor.create_monitoring_schedule("churn", schedule_cron_expression="NOW")  # doctest: +SKIP
>>> monitor.latest_monitoring_constraint_violations()["violations"]    # doctest: +SKIP
"""

from __future__ import annotations

from ._monitor import (
    CronExpressionGenerator,
    DatasetFormat,
    DefaultModelMonitor,
    MonitoringExecution,
    MonitoringFile,
    run_due_schedules,
)

__all__ = [
    "CronExpressionGenerator",
    "DatasetFormat",
    "DefaultModelMonitor",
    "MonitoringExecution",
    "MonitoringFile",
    "run_due_schedules",
]
