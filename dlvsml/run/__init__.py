"""Running a suite: plan its cells, run each (here, in processes, on Ray), record the results.

One job per module, from the top down:

- `suite`: ``run_spec`` — plan, skip what is FINISHED in MLflow, hand the rest to an executor,
  record every result (the only writer to MLflow).
- `executors/`: where cells run (``local``, ``processes``, ``ray``), chosen by name.
- `cell`: ``run_cell`` — one cell in a worker: slice its rows, tune, test once.
- `tune_worker`: an extra tuning worker on one cell's shared study (``dlvsml tune-worker``).
- `plan`: ``plan_cells`` — a spec expanded into cells with stable keys.
- `progress`: the live display; `resources`: threads and memory of a worker.

This package imports nothing at import time, so ``dlvsml.run.plan`` stays as light as it is.
Below it: `dlvsml.tuning`, `dlvsml.tracking`, `dlvsml.stores`, the models and the data layer,
and `dlvsml.records` (the plain records all of them share).
"""
