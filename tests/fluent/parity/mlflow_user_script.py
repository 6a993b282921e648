"""An MLflow user's script, run unchanged but for the import: argv[1] is heron or mlflow.

Its output under mlflow 3.17.2 is recorded in expected_from_mlflow_3_17_2.json.
"""

import os, sys, json, math, tempfile
lib = sys.argv[1]
if lib == "heron":
    import heron as mlflow
else:
    import mlflow
MlflowClient = mlflow.MlflowClient
if lib == "mlflow":
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
out = {}
exp_id = mlflow.create_experiment("parity", tags={"team": "a"})
mlflow.set_experiment("parity")
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_params({"lr": 0.01, "opt": "adam"})
    mlflow.set_tag("stage", "dev")
    for s in range(5):
        mlflow.log_metric("loss", 1 / (s + 1), step=s)
    mlflow.log_metric("weird", float("nan"))
    mlflow.log_metric("inf", float("inf"))
    for i in range(3):
        with mlflow.start_run(run_name=f"child-{i}", nested=True) as child:
            mlflow.log_param("i", i)
            mlflow.log_metric("acc", 0.5 + i / 10)
            mlflow.set_tags({"kind": "odd" if i % 2 else "even"})
    mlflow.log_text("hello", "notes/a.txt")
    mlflow.log_dict({"k": [1, 2]}, "cfg/c.json")
    d = tempfile.mkdtemp(); open(os.path.join(d, "f.bin"), "wb").write(b"x" * 10)
    mlflow.log_artifacts(d, "blob")
c = MlflowClient()
r = mlflow.get_run(parent.info.run_id)
out["status"] = r.info.status
out["params"] = r.data.params
out["metrics"] = {k: (repr(v)) for k, v in r.data.metrics.items()}
out["tagkeys"] = sorted(k for k in r.data.tags if not k.startswith("mlflow.source.git"))
out["history"] = [(m.step, m.value) for m in c.get_metric_history(r.info.run_id, "loss")]
out["children"] = sorted(x.info.run_name for x in mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'", output_format="list"))
out["acc_gt"] = [x.info.run_name for x in mlflow.search_runs(filter_string="metrics.acc > 0.55", order_by=["metrics.acc DESC"], output_format="list")]
out["even"] = [x.info.run_name for x in mlflow.search_runs(filter_string="tags.kind = 'even'", order_by=["params.i"], output_format="list")]
df = mlflow.search_runs()
out["df_cols"] = sorted(c for c in df.columns if not c.startswith("tags.mlflow.source.git"))
out["df_len"] = len(df)
out["artifacts"] = [(f.path, f.is_dir, f.file_size) for f in c.list_artifacts(r.info.run_id)]
out["blob"] = [(f.path, f.is_dir, f.file_size) for f in c.list_artifacts(r.info.run_id, "blob")]
p = mlflow.artifacts.download_artifacts(run_id=r.info.run_id, artifact_path="notes/a.txt")
out["text"] = open(p).read()
child_id = mlflow.search_runs(filter_string="attributes.run_name = 'child-0'", output_format="list")[0].info.run_id
mlflow.delete_run(child_id)
out["after_delete"] = len(mlflow.search_runs(output_format="list"))
out["deleted_only"] = [x.info.run_name for x in mlflow.search_runs(run_view_type=2, output_format="list")]
c.restore_run(child_id)
out["after_restore"] = len(mlflow.search_runs(output_format="list"))
out["exps"] = [e.name for e in mlflow.search_experiments()]
out["exp_tags"] = mlflow.get_experiment(exp_id).tags
mlflow.delete_experiment(exp_id)
out["exps_after"] = [e.name for e in mlflow.search_experiments()]
out["exp_stage"] = mlflow.get_experiment(exp_id).lifecycle_stage
c.restore_experiment(exp_id)
out["exp_stage2"] = mlflow.get_experiment(exp_id).lifecycle_stage
try:
    with mlflow.start_run(run_id=parent.info.run_id):
        mlflow.log_param("lr", 0.5)
except Exception as e:
    out["param_err"] = getattr(e, "error_code", type(e).__name__)
out["parent_status"] = mlflow.get_run(parent.info.run_id).info.status
try:
    mlflow.search_runs(filter_string="metrics.acc >>> 1")
except Exception as e:
    out["filter_err"] = getattr(e, "error_code", type(e).__name__)
out["missing_exp"] = mlflow.get_experiment_by_name("nope")
try:
    mlflow.get_run("deadbeef" * 4)
except Exception as e:
    out["missing_run"] = getattr(e, "error_code", type(e).__name__)
print(json.dumps(out, indent=1, sort_keys=True))
