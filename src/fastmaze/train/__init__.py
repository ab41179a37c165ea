"""Training on fastmaze levels (needs torch): models, checkpoints, DDP helpers, the
prefetching level stream, the supervised trainer and the experiment presets.

Submodules are imported on demand so that ``import fastmaze.train`` stays cheap:

- `fastmaze.train.models`: `ImpalaCNN`, `ConvNet`, `RecurrentConvNet`, `make_model`.
- `fastmaze.train.checkpoint`: atomic `save_checkpoint` / `load_checkpoint`, RNG state.
- `fastmaze.train.distributed`: `init_distributed` (torchrun env vars), `id_range`,
  `all_reduce_mean`.
- `fastmaze.train.stream`: `LevelStream`, fresh levels rendered and labelled in a thread.
- `fastmaze.train.supervised`: `SupervisedConfig`, `train_supervised` (tasks: the exit
  square, the oracle's action, the path as a policy map), `evaluate_path`.
- `fastmaze.train.ensemble`: `train_supervised_ensemble`, K seeds trained at once as one
  batched model (`Ensemble`), each member its seed's solo run;
  `fastmaze.train.ppo_ensemble.train_ppo_ensemble` the same for PPO.
- `fastmaze.train.experiments`: the experiment presets behind ``fastmaze experiment``.
- `fastmaze.train.reports`: an experiment's rows, pooled rates, plots and table.
"""
