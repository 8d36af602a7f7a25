"""``bert-explorer context WORD SENTENCE [SENTENCE ...] --out F.npz``."""

from __future__ import annotations

import argparse

from explorer.commands.common import error, load, model_argument, out_argument, out_problem
from explorer.core.errors import ExplorerError
from explorer.core.wording import counted


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bert-explorer context",
        description="Follow one word through several sentences: its state at every layer "
        "(mean over its word pieces), the cosines between its occurrences, Ethayarajh's "
        "self-similarity and the anisotropy baseline, saved as .npz.",
    )
    parser.add_argument("word", help="the word to follow (case-insensitive)")
    parser.add_argument("sentences", nargs="+", metavar="SENTENCE", help="two or more sentences")
    model_argument(parser)
    out_argument(parser)
    return parser


def run_context(argv: list[str]) -> int:
    """Headless context measures, with the same core code as the Context panel."""
    args = _parser().parse_args(argv)
    from explorer.core.context import context_of
    from explorer.core.results import save_npz

    problem = out_problem(args.out)
    if problem:
        return error(problem)
    try:
        context = context_of(load(args.model), args.word, args.sentences)
        save_npz(args.out, context.to_arrays())
    except ExplorerError as err:
        return error(str(err))
    except OSError as err:
        return error(f"could not write {args.out}: {err.strerror or err}")
    layers = context.self_similarity.shape[0] - 1  # the first row is the embeddings
    print(
        f"{args.word.strip()!r} in {counted(len(args.sentences), 'sentence')}, embeddings and "
        f"{counted(layers, 'layer')}: self-similarity "
        f"{context.self_similarity[0]:.3f} → {context.self_similarity[-1]:.3f}, anisotropy "
        f"{context.anisotropy[0]:.3f} → {context.anisotropy[-1]:.3f} → {args.out}"
    )
    for note in context.notes:
        print(f"note: {note}")
    return 0
