"""A first run: log params, metrics and an artifact to the embedded default store."""

import heron

heron.set_experiment("quickstart")
with heron.start_run(run_name="first-run") as run:
    heron.log_params({"learning_rate": 0.01, "epochs": 5})
    for epoch in range(5):
        heron.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    heron.log_text("Trained for 5 epochs.", "notes/summary.txt")

best = heron.search_runs(filter_string="metrics.loss < 0.5", output_format="list")
print(f"run {run.info.run_id} logged; {len(best)} run(s) with loss < 0.5")
print(f"data is in {heron.get_tracking_uri()}")
