"""digits-vae test NLL (K = 1,000) and ELBO over seeds, beside the plain-Keras reference VAE.

    python benchmarks/digits_vae.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=os.path.join(HERE, "results", "digits-vae.json"))
    args = parser.parse_args(argv)
    import numpy as np

    from tfgen.trainers import (
        cli,  # noqa: F401  (quiet start-up, logging)
        presets,
        train,
    )

    rows = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            m = train.run(presets.resolve("digits-vae", overrides=[f"seed={seed}"]),
                          run_dir=os.path.join(tmp, "run"), progress=False)
        ref = json.loads(subprocess.run(
            [sys.executable, os.path.join(HERE, "reference_vae.py"), "--seed", str(seed)],
            capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        rows.append({"seed": seed, "tfgen_nll": m["quality"]["nll"],
                     "tfgen_elbo": m["quality"]["elbo"], "tfgen_best_epoch": m["best_epoch"],
                     "tfgen_wall_time_s": m["wall_time_s"], "reference_nll": ref["test_nll"],
                     "reference_elbo": ref["test_elbo"], "reference_wall_time_s": ref["wall_time_s"]})
        print(json.dumps(rows[-1]), flush=True)
    summary = {k: [float(np.mean([r[k] for r in rows])),
                   float(np.std([r[k] for r in rows], ddof=1) / np.sqrt(len(rows)))
                   if len(rows) > 1 else 0.0]
               for k in rows[0] if k != "seed"}
    print("summary (mean, standard error):", json.dumps(summary))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"runs": rows, "summary": summary}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
