"""Command-line parts of the baseline: `khc model train|evaluate` and `khc preannotate --model`.

Kept apart from builders/cli.py, which only calls `add_model_commands` and
`add_preannotate_options` and hands `--model` runs to `run_preannotate`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from builders.errors import fail
from builders.model import DEFAULT_SEED, EVALUATION_FILE
from builders.project import load_project

DEFAULT_MODELS = "models"


def _cmd_train(args: argparse.Namespace) -> int:
    from builders.model.report import summary
    from builders.model.train import train

    project = load_project(args.root)
    out = _folder(project, args.out)
    folder, card = train(project, out, args.seed)
    print(f"trained {card['model_version']} on {card['training_articles']} articles, {card['training_claims']} claims")
    print(f"  labels from {card['training_source']}")
    for reason, n in card["left_out_articles"].items():
        if n:
            print(f"  left out: {n} articles ({reason})")
    for line in summary(card["evaluation"]):
        print(f"  {line}")
    print(f"wrote {project.rel(folder)}/ (model.skops, card.json)")
    print(f"next: khc preannotate --model {project.rel(folder)}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from builders.model.data import load_training, require_labels
    from builders.model.evaluate import cross_validate
    from builders.model.recorded import evaluation_path, make_record, write_record
    from builders.model.report import baseline_section, summary

    project = load_project(args.root)
    data = load_training(project)
    require_labels(data, "the current build (khc build)")
    record = make_record(data, args.seed, cross_validate(data, args.seed))
    path = Path(args.json).resolve() if args.json else evaluation_path(project)
    write_record(path, record)
    for line in summary(record["evaluation"]):
        print(line)
    version, digest = record["model_version"], record["training_data_sha256"][:12]
    print(f"wrote {project.rel(path)} ({version}, training data {digest}…)")
    if not args.json:
        print("next: commit it and run khc build: the card's Baseline section shows these figures")
    if args.markdown:
        Path(args.markdown).write_text(baseline_section(record["evaluation"], record["model_version"]) + "\n")
        print(f"wrote {args.markdown}")
    return 0


def _cmd_backend(args: argparse.Namespace) -> int:
    from builders.model.backend import Backend
    from builders.model.store import load

    project = load_project(args.root)
    fitted, card = load(Path(args.model).resolve(), project.guideline_version())
    server = Backend(fitted, card["model_version"], args.port)
    print(f"ML backend {card['model_version']} on http://127.0.0.1:{server.server_port}; stop it with Ctrl-C.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _folder(project, given: str | None) -> Path:
    return Path(given).resolve() if given else project.root / DEFAULT_MODELS


def add_model_commands(sub) -> None:
    """`khc model train` and `khc model evaluate` under the top-level subparsers `sub`."""
    model = sub.add_parser(
        "model",
        help="train and evaluate the baseline model that pre-annotates new articles",
        description="A small baseline (BlingFire sentence candidates, TF-IDF and cue features, scikit-learn) "
        "learnt from the current build's labels; nothing is downloaded. Trained models are rebuilt "
        "deterministically and are not committed (models/ is git-ignored).",
    )
    model_sub = model.add_subparsers(dest="model_command", metavar="COMMAND")
    p = model_sub.add_parser(
        "train",
        help="cross-validate, then train on all train and validation labels and save models/VERSION/",
        description="Read the labels of dist/ when it is a build of the current inputs, else build into a "
        "temporary folder (dist/ is not touched); cross-validate by article; fit on every labelled train and "
        "validation article (test stays held out); save model.skops (skops, not pickle) and card.json "
        "(training-data hash, guideline and schema versions, library versions, figures) as "
        "OUT/baseline-<hash8>/.",
    )
    p.add_argument("--out", help=f"folder of models (default: {DEFAULT_MODELS}/ in the project)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})")
    p.set_defaults(func=_cmd_train)
    p = model_sub.add_parser(
        "evaluate",
        help="cross-validate the baseline by article and write the figures as JSON",
        description="Leave-one-article-out below 10 labelled articles, grouped 5-fold by article from there "
        "on. Detection F1 (IoU >= 0.5), per-class and macro F1 for claim_type and evidence, F1 per risk "
        "item and for harms_explained / evidence_explained, each beside a majority-class baseline and the "
        "number of units, and detection beside marking every sentence a claim. The reference is the build's "
        "aggregated labels, without the claims and answers that stand only by people accepting a prediction "
        "unchanged; the maintainers' pre-annotations (origin = model) until people have labelled. Writes "
        f"{EVALUATION_FILE} (commit it): khc build renders it as the card's Baseline section.",
    )
    p.add_argument("--json", help=f"write the evaluation here instead of {EVALUATION_FILE} (the card ignores it)")
    p.add_argument("--markdown", help="also write the card's Baseline section (Markdown) to this file")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})")
    p.set_defaults(func=_cmd_evaluate)
    p = model_sub.add_parser(
        "backend",
        help="serve the baseline as a Label Studio ML backend on 127.0.0.1",
        description="Answer Label Studio's ML backend protocol (/health, /setup, /predict) with a trained "
        "baseline, so Label Studio asks it for predictions as tasks open or through the Data Manager's "
        "'Retrieve predictions' action. Add it in the project's Model settings at http://127.0.0.1:PORT; the "
        "Label Studio server must run with ML_BLOCK_LOCAL_IP=false and SSRF_PROTECTION_ENABLED=false to reach "
        "a local backend. Predictions made so are Label Studio predictions (origin = model).",
    )
    p.add_argument("--model", required=True, help="a trained baseline's folder (models/VERSION)")
    p.add_argument("--port", type=int, default=9090, help="port (default: 9090)")
    p.set_defaults(func=_cmd_backend)
    model.set_defaults(func=lambda args: _usage(model))


def _usage(p: argparse.ArgumentParser) -> int:
    import sys

    p.print_help(sys.stderr)
    return 2


def add_preannotate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        help="a trained baseline's folder (models/VERSION): predict for ARTICLE_IDs, or for every article "
        "without a prediction, instead of reading a YAML spec",
    )
    p.add_argument("article_ids", nargs="*", metavar="ARTICLE_ID", help="with --model: the articles to pre-annotate")


def run_preannotate(args: argparse.Namespace) -> int:
    from builders.model.preannotate import declare_model_version, preannotate_with_model

    project = load_project(args.root)
    named = ([args.spec] if args.spec else []) + list(args.article_ids)
    out, card, written, empty = preannotate_with_model(project, Path(args.model).resolve(), named)
    if not written and not empty:
        print("every article has a prediction already; name articles to pre-annotate them again")
        return 0
    if written:
        print(f"wrote {project.rel(out)}: {len(written)} articles (model {card['model_version']}, origin = model)")
        if declare_model_version(project, card["model_version"]):
            print(f"  declared {card['model_version']} in khc.toml after the current model version (commit it)")
    if empty:
        print(f"  no prediction for {len(empty)} articles (the model found no claim and no answer): {', '.join(empty)}")
    print("next: khc ls push")
    return 0


def require_spec(args: argparse.Namespace) -> None:
    if not args.spec or args.article_ids:
        fail(
            "preannotate takes one YAML spec, or --model models/VERSION with article ids",
            record="khc preannotate",
            fix="khc preannotate annotations/pilot/pilot-v2.yaml, or khc preannotate --model models/VERSION",
        )
