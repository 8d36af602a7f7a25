"""``bert-explorer explain TEXT [--pair B] [--target T] [--steps 32] [--knock-out L:H] --out F``."""

from __future__ import annotations

import argparse

from explorer.commands.common import error, load, model_argument, out_argument, out_problem
from explorer.core.errors import ExplorerError
from explorer.core.why.attribution import DEFAULT_STEPS, Explanation
from explorer.core.why.targets import TARGET_HELP


def knock_out_argument(parser: argparse.ArgumentParser) -> None:
    """``--knock-out L:H`` (repeatable, counted from 1), shared by ``inspect`` and ``explain``."""
    parser.add_argument(
        "--knock-out",
        action="append",
        default=[],
        metavar="L:H",
        help="switch head H of layer L off (both counted from 1, as the window shows them); "
        "repeatable",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bert-explorer explain",
        description="Which input tokens and heads a prediction rests on: gradient norm, "
        "gradient × input, integrated gradients, Chefer's relevance and head importance, "
        "saved as .npz.",
    )
    parser.add_argument("text", help="sentence A")
    parser.add_argument("--pair", default=None, help="sentence B")
    model_argument(parser)
    parser.add_argument(
        "--target",
        default="",
        help=f"{TARGET_HELP} (default: the first that fits the model's head and the input)",
    )
    parser.add_argument(
        "--steps", type=int, default=DEFAULT_STEPS, help="integrated-gradients steps (m)"
    )
    knock_out_argument(parser)
    out_argument(parser)
    return parser


def run_explain(argv: list[str]) -> int:
    """Headless attribution, with the same core code as the Attribution panel."""
    args = _parser().parse_args(argv)
    problem = out_problem(args.out) or ("--steps must be at least 1." if args.steps < 1 else None)
    if problem:
        return error(problem)
    explanation = _explain_into(args)
    if isinstance(explanation, str):
        return error(explanation)
    print(
        f"{explanation.target}: F = {explanation.target_value:.6g}, "
        f"F(baseline) = {explanation.baseline_value:.6g}, integrated-gradients completeness "
        f"error {explanation.ig_completeness_error:.3g} at {explanation.ig_steps} steps, "
        f"{len(explanation.tokens)} tokens → {args.out}"
    )
    return 0


def _explain_into(args: argparse.Namespace) -> Explanation | str:
    """The explanation, written to ``args.out``; or the message of what went wrong."""
    from explorer.core.results import save_npz
    from explorer.core.why.attribution import explain
    from explorer.core.why.gates import parse_head_spec

    try:
        heads = [parse_head_spec(spec) for spec in args.knock_out]
        found = explain(load(args.model), args.text, args.pair, args.target, args.steps, heads)
        save_npz(args.out, found.arrays())
    except ExplorerError as err:
        return str(err)
    except OSError as err:
        return f"could not write {args.out}: {err.strerror or err}"
    return found
