"""The `tfgen` command: a thin argparse layer over `trainers` and the `tfgen` library.

User mistakes (bad flags, config keys, files) print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys

from tfgen import startup
from tfgen.errors import Preempted, TrainingDiverged, UserError

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_USER_ERROR)


def _cmd_presets(args) -> int:
    from tfgen.trainers import config as config_lib
    from tfgen.trainers import presets

    if args.show:
        cfg = presets.get(args.show)
        for key, value, help_text in config_lib.describe_fields(cfg):
            print(f"{key:32s} {value!s:24s} {help_text}")
        return 0
    rows = presets.all_presets()
    width = max(len(p.name) for p in rows)
    for p in rows:
        default = "  (default)" if p.name == presets.DEFAULT_PRESET else ""
        print(f"{p.name:{width}s}  {p.description}{default}")
    return 0


def _cmd_ingredients(args) -> int:
    import dataclasses

    from tfgen.ingredients import REGISTRY
    from tfgen.ingredients.base import ingredient_class

    sections = {"regularizer": "model.regularizers.<name>", "augmentation": "model.augment",
                "prior": "model.prior", "likelihood": "model.likelihood"}
    for kind, names in REGISTRY.items():
        if args.kind and kind != args.kind:
            continue
        print(f"{kind} ({sections[kind]}):")
        for name in names:
            cls = ingredient_class(kind, name)
            summary = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
            print(f"  {name}: {summary}")
            for f in dataclasses.fields(cls):
                default = (f.default if f.default is not dataclasses.MISSING
                           else f.default_factory())
                print(f"    {f.name:14s} {default!s:20s} {f.metadata.get('help', '')}")
    return 0


def _cmd_datasets(args) -> int:
    from tfgen import data

    rows = {**data.BUILTIN, **data.FORMS}
    width = max(map(len, rows))
    for name, description in rows.items():
        print(f"{name:{width}s}  {description}")
    return 0


def _cmd_train(args) -> int:
    from tfgen.trainers import presets
    from tfgen.trainers.rundir import RunDir

    config_file = args.config
    if args.run_dir and not (args.preset or args.config) and RunDir(args.run_dir).has_config():
        config_file = RunDir(args.run_dir).config_file  # continue the run with its own config
    cfg = presets.resolve(args.preset, config_file, args.overrides)  # fails before any work
    from tfgen.trainers import train

    train.run(cfg, run_dir=args.run_dir, progress=not args.quiet, verbose=args.verbose)
    return 0


def _cmd_sample(args) -> int:
    from tfgen.trainers import sample

    labels = None
    if args.labels:
        try:
            labels = [int(v) for v in args.labels.split(",")]
        except ValueError:
            raise UserError(
                f"--labels must be comma-separated integers, got {args.labels!r}"
            ) from None
    sample.run(args.run_dir, num=args.num, seed=args.seed, labels=labels, out=args.out,
               progress=not args.quiet, sampler=args.sampler, truncation=args.truncation,
               synth=args.synth, decode=args.decode)
    return 0


def _cmd_interpolate(args) -> int:
    from tfgen.trainers import interpolate

    interpolate.run(args.run_dir, args.a, args.b, steps=args.steps, out=args.out,
                    seed=args.seed)
    return 0


def _cmd_evaluate(args) -> int:
    from tfgen.trainers import evaluate

    evaluate.run(args.run_dir, num=args.num, split=args.split, seed=args.seed,
                 features=args.features, nll_samples=args.nll_samples, progress=not args.quiet,
                 nll_examples=args.nll_examples, truncation=args.truncation,
                 cas=not args.no_cas)
    return 0


def _cmd_tune(args) -> int:
    from tfgen.tuning import search

    objective = [m.strip() for m in args.objective.split(",")] if args.objective else None
    search.run(args.preset, tuner=args.tuner, max_trials=args.max_trials, objective=objective,
               overrides=args.overrides, config_file=args.config, directory=args.dir,
               seed=args.seed, progress=not args.quiet)
    return 0


def _cmd_export(args) -> int:
    from tfgen.trainers import export

    export.run(args.run_dir, args.out_dir)
    return 0


def _add_config_arguments(parser, set_help: str) -> None:
    """--preset, --config and --set: the config sources `presets.resolve` applies in order."""
    parser.add_argument("--preset", help="preset name (default: digits-dcgan; see 'tfgen presets')")
    parser.add_argument("--config", metavar="FILE", help="YAML config, e.g. a run's config.yaml")
    parser.add_argument(
        "--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
        help=f"{set_help}, e.g. --set epochs=5 --set data.name=ring8 (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    from tfgen import __version__

    parser = _Parser(
        prog="tfgen",
        description="Train and sample GANs and VAEs with Keras 3 / TensorFlow.",
        epilog="Run 'tfgen COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"tfgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    train = sub.add_parser(
        "train", help="train a preset (default: digits-dcgan); re-run on a run dir to resume",
        description="Train a model from a preset, a YAML config and --set overrides (applied in "
        "that order). Re-running on an existing run directory resumes it.",
    )
    _add_config_arguments(train, "override a config key")
    train.add_argument("--run-dir", help="run directory (default: runs/<preset>-<timestamp>); "
                       "an existing one resumes, with its own config.yaml unless --preset or "
                       "--config is given")
    train.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    train.add_argument("-v", "--verbose", action="store_true",
                       help="every logged value on each epoch line (default: the main ones, "
                            "in 120 columns; TensorBoard has them all)")
    train.set_defaults(func=_cmd_train)

    sample = sub.add_parser(
        "sample", help="draw samples from a trained run",
        description="Draw samples from a run's final model: a picture (.png) or the raw "
        "array (.npy); music (piano-roll runs) also as MIDI (.mid), sound (.wav) -- one file "
        "per sample, NAME_000.mid ... for several -- or a .zip of MIDI files; text as .txt or "
        ".jsonl, decoded by --decode. The same seed gives the same output every time.",
    )
    sample.add_argument("run_dir", metavar="RUN_DIR")
    sample.add_argument("--num", type=int, default=64, help="number of samples (default 64)")
    sample.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    sample.add_argument("--labels", help="class labels for conditional models, e.g. 0,1,2")
    sample.add_argument("--out", default=None, metavar="FILE",
                        help="FILE.png or FILE.npy; music also FILE.mid, FILE.wav, FILE.zip; "
                        "text FILE.txt (a sentence a line) or FILE.jsonl (each with its "
                        "token count and ELBO) (default: samples.png; text: samples.txt)")
    sample.add_argument("--decode", metavar="RULE", help="text: how tokens are picked -- "
                        "sample (default), greedy, beam=N, or temperature=T, top_k=K, "
                        "top_p=P joined by commas (e.g. top_p=0.9)")
    sample.add_argument("--synth", default="additive", choices=("additive", "fluidsynth"),
                        help="music to .wav: tfgen's additive synthesiser (default; no "
                        "dependencies) or FluidSynth with a General MIDI sound font (apt-get "
                        "install fluidsynth fluid-soundfont-gm)")
    sample.add_argument("--sampler", default="prior", choices=("prior", "expost"),
                        help="VAEs: latent codes from the prior (default) or the ex-post "
                        "mixture fitted on the training codes (model.expost_components)")
    sample.add_argument("--truncation", type=float, metavar="PSI", help="truncation trick: "
                        "latent coordinates from N(0, 1) truncated to [-PSI, PSI] (smaller: "
                        "less diverse, often cleaner samples; default: off)")
    sample.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sample.set_defaults(func=_cmd_sample)

    interp = sub.add_parser(
        "interpolate", help="pieces (or sentences) along the latent line between two (sequence "
        "VAEs)",
        description="Encode two pieces -- MIDI files, or SPLIT:INDEX of the run's dataset (e.g. "
        "test:0) -- and decode STEPS pieces along the line between their latent codes, both "
        "ends included (MusicVAE's interpolation): .mid/.wav (one file per step, NAME_000.mid "
        "...), .zip, .png (the rolls one above the other) or .npy. Text runs: two sentences "
        "(quoted) or SPLIT:INDEX, the homotopy of Bowman et al. (2016) as .txt or .jsonl.",
    )
    interp.add_argument("run_dir", metavar="RUN_DIR")
    interp.add_argument("a", metavar="A", help="first piece: FILE.mid, a sentence, or "
                        "SPLIT:INDEX")
    interp.add_argument("b", metavar="B", help="last piece: FILE.mid, a sentence, or "
                        "SPLIT:INDEX")
    interp.add_argument("--steps", type=int, default=5, help="pieces, ends included (default 5)")
    interp.add_argument("--out", default=None, metavar="FILE",
                        help="FILE.mid, .wav, .zip, .png or .npy; text: FILE.txt or .jsonl "
                        "(default: interpolation.mid; text: interpolation.txt)")
    interp.add_argument("--seed", type=int, help="draw the notes with this seed (default: the "
                        "most likely notes, frame by frame)")
    interp.set_defaults(func=_cmd_interpolate)

    evaluate = sub.add_parser(
        "evaluate", help="quality metrics of a trained run, with real-vs-real baselines",
        description="Evaluate a run's final model: mode metrics (2-D mixtures), Fréchet "
        "distance, KID, precision/recall/density/coverage and class-distribution KL (images, in "
        "the features of a classifier tfgen trains once per dataset and caches in "
        "$TFGEN_CACHE_DIR or ~/.cache/tfgen), NLL and ELBO (VAEs). Writes RUN_DIR/eval.json.",
    )
    evaluate.add_argument("run_dir", metavar="RUN_DIR")
    evaluate.add_argument("--num", type=int, help="generated samples (default: 2500 for 2-D "
                          "mixtures, the reference split's size for images)")
    evaluate.add_argument("--split", default="test", help="reference split (default test)")
    evaluate.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    evaluate.add_argument("--features", metavar="MODEL", help="a Keras model file whose output "
                          "is the feature vector (e.g. InceptionV3 without top) instead of "
                          "tfgen's classifier")
    evaluate.add_argument("--nll-samples", type=int, metavar="K", help="importance samples of "
                          "the VAE NLL (default: the run's model.eval_samples)")
    evaluate.add_argument("--nll-examples", type=int, metavar="N", help="VAE NLL/ELBO on the "
                          "split's first N examples (default: all; K=1000 costs about a minute "
                          "per 200 28x28 images on 2 CPU cores)")
    evaluate.add_argument("--no-cas", action="store_true", help="skip the metrics that "
                          "train models on samples: the classification accuracy score of "
                          "class-conditional image models, the reverse PPL of text (each "
                          "trains two)")
    evaluate.add_argument("--truncation", type=float, nargs="+", metavar="PSI", help="also "
                          "the sample metrics at each truncation PSI (the quality/diversity "
                          "trade-off): a table, eval.json and RUN_DIR/truncation.png")
    evaluate.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    evaluate.set_defaults(func=_cmd_evaluate)

    tune = sub.add_parser(
        "tune", help="KerasTuner search over a preset's hyperparameters",
        description="Search a preset's declared hyperparameter space with KerasTuner. Each "
        "trial is a tfgen run (evaluation on, best epoch by the first objective, collapsed or "
        "diverged trials marked failed) under DIR/<preset>/trial_NN/run. Prints the best trials "
        "and writes DIR/best_config.yaml for 'tfgen train --config'. Re-run the same command to "
        "continue an interrupted search. Distributed: see README (KERASTUNER_* variables).",
    )
    _add_config_arguments(tune, "fix a config key for every trial")
    tune.add_argument("--tuner", default="random", choices=("random", "bayesian", "hyperband"),
                      help="search algorithm (default random)")
    tune.add_argument("--max-trials", type=int, default=10, help="trials to run (default 10)")
    tune.add_argument("--objective", metavar="METRIC[,METRIC]", help="evaluation metric(s) to "
                      "optimise; several are summed, each in its direction (default: reverse_kl "
                      "for 2-D mixtures, nll for VAEs, frechet_distance for image GANs)")
    tune.add_argument("--dir", help="search directory (default runs/tune-<preset>)")
    tune.add_argument("--seed", type=int, default=0, help="seed of the tuner's draws (default 0)")
    tune.add_argument("-q", "--quiet", action="store_true", help="fewer messages")
    tune.set_defaults(func=_cmd_tune)

    export = sub.add_parser(
        "export", help="write a run's model as a TensorFlow SavedModel",
        description="Export a run's final model as a SavedModel with a sample(seed, num, "
        "labels) signature (and encode/decode for VAEs), loadable with tf.saved_model.load "
        "without tfgen.",
    )
    export.add_argument("run_dir", metavar="RUN_DIR")
    export.add_argument("out_dir", metavar="OUT_DIR")
    export.set_defaults(func=_cmd_export)

    presets = sub.add_parser(
        "presets", help="list presets", description="List the named presets, or show one."
    )
    presets.add_argument("--show", metavar="NAME", help="print every key of one preset")
    presets.set_defaults(func=_cmd_presets)

    ingredients = sub.add_parser(
        "ingredients", help="list regularisers, augmentations, priors and likelihoods",
        description="List the training ingredients a config's model.regularizers, "
        "model.augment, model.prior and model.likelihood sections take, with each one's options "
        "and defaults.")
    ingredients.add_argument("--kind",
                             choices=["regularizer", "augmentation", "prior", "likelihood"],
                             help="only this kind")
    ingredients.set_defaults(func=_cmd_ingredients)

    datasets = sub.add_parser(
        "datasets", help="list dataset sources", description="List the dataset sources."
    )
    datasets.set_defaults(func=_cmd_datasets)
    return parser


MAX_ERROR = 300  # characters of an error line (a huge --set value is not echoed whole)


def _one_line(message) -> str:
    text = " ".join(str(message).split())
    return text if len(text) <= MAX_ERROR else text[:MAX_ERROR - 3] + "..."


def main(argv: list[str] | None = None) -> int:
    # Each command imports what it needs, when it needs it: --help, argument mistakes, `presets`
    # and `datasets` answer without TensorFlow's seconds of start-up (tests/test_cli.py), and
    # TensorFlow's start-up chatter, when a command imports it, is not the user's.
    startup.quiet_tensorflow_import()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("tfgen: %(message)s"))
    handler.set_name("tfgen-cli")
    logger = logging.getLogger("tfgen")
    for old in [h for h in logger.handlers if h.get_name() == "tfgen-cli"]:
        logger.removeHandler(old)  # an earlier main() in this process (its stderr may be gone)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        return args.func(args)
    except UserError as err:
        sys.stderr.write(f"tfgen: error: {_one_line(err)}\n")
        return EXIT_USER_ERROR
    except TrainingDiverged as err:
        sys.stderr.write(f"tfgen: error: {err}\n")
        return 1
    except Preempted as err:  # on a line of its own, after a progress bar
        again = (f"tfgen train --run-dir {err.run_dir}" if args.command == "train"
                 and err.run_dir else "the same command")
        sys.stderr.write(f"\ntfgen: {err}; run {again} to resume from there\n")
        return 128 + err.signum  # what the shell reports for a process the signal ended
    except ModuleNotFoundError as err:
        if err.name != "tensorflow":
            raise
        sys.stderr.write(f"tfgen: error: {startup.NO_TENSORFLOW}\n")
        return EXIT_USER_ERROR
    except BrokenPipeError:  # e.g. `tfgen presets | head`
        sys.stderr.close()
        return 0
    except OSError as err:  # a full disk, a read-only or vanished path: the system's words
        where = f": {err.filename}" if err.filename else ""
        sys.stderr.write(f"tfgen: error: {_one_line(err.strerror or err)}{where}\n")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:  # on a line of its own, after a progress bar
        hint = ("; run the same command again to resume from the last checkpoint"
                if args.command in ("train", "tune") else "")
        sys.stderr.write(f"\ntfgen: interrupted{hint}\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
