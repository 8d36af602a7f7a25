"""Command line: ``bert-explorer`` opens the window; ``bert-explorer inspect`` runs headless.

The headless path imports no Qt, so it works on a server or in CI without a display.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from explorer.commands.common import model_argument, out_argument
from explorer.core.errors import ExplorerError

GUI_OPTIONS = ("--model", "--text", "--pair")  # the window's options that take a value


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bert-explorer",
        usage="bert-explorer [--model M] [--text A] [--pair B] [session.json]\n"
        f"       bert-explorer {{{','.join(_headless_commands())}}} ...",
        description="Look inside BERT: tokens, attention, hidden-state norms, pooled vector. "
        f"Headless commands: {', '.join(_headless_commands())} (each with --help).",
    )
    parser.add_argument(
        "--model", default=None, help="embedded, a folder, or a hub id (default: the last one)"
    )
    parser.add_argument("session", nargs="?", type=Path, help="a session .json file to open")
    parser.add_argument("--text", default=None, help="prefill sentence A")
    parser.add_argument("--pair", default=None, help="prefill sentence B")
    return parser


def _inspect_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bert-explorer inspect",
        description="Run a sentence (or pair) through the model and save every tensor as .npz.",
    )
    parser.add_argument("text", help="sentence A")
    parser.add_argument("--pair", default=None, help="sentence B")
    model_argument(parser)
    out_argument(parser)
    parser.add_argument(
        "--mask",
        action="append",
        type=int,
        default=[],
        metavar="I",
        help="replace token I (0 is [CLS]) with the mask token first; repeatable",
    )
    parser.add_argument(
        "--lens",
        action="store_true",
        help="add the logit lens: the masked-LM head on every layer (lens_top_ids/probs)",
    )
    parser.add_argument(
        "--qkv",
        action="store_true",
        help="add queries, keys and values (L, H, T, d_head): softmax(q kᵀ/√d) = attentions",
    )
    from explorer.commands.explain import knock_out_argument

    knock_out_argument(parser)
    return parser


def run_inspect(argv: list[str]) -> int:
    """Headless inspection with the same core code as the GUI."""
    args = _inspect_parser().parse_args(argv)
    from explorer.commands.common import out_problem
    from explorer.core.api import inspect_arrays
    from explorer.core.heads.summary import prediction_lines
    from explorer.core.notices import input_notices
    from explorer.core.results import save_npz

    if (problem := out_problem(args.out)) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        from explorer.core.why.gates import parse_head_spec

        knocked_out = [parse_head_spec(spec) for spec in args.knock_out]
        result, arrays = inspect_arrays(
            args.text,
            pair=args.pair,
            model=args.model,
            mask=args.mask,
            lens=args.lens,
            qkv=args.qkv,
            knocked_out=knocked_out,
        )
        save_npz(args.out, arrays)
    except ExplorerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: could not write {args.out}: {err.strerror or err}", file=sys.stderr)
        return 2
    notice = f" (truncated: {result.tokens_dropped} tokens dropped)" if result.truncated else ""
    print(
        f"{result.num_tokens} tokens, {result.num_layers} layers × {result.num_heads} heads"
        f"{notice} → {args.out}"
    )
    # What the window's message bar would say (NaN weights, [SEP] typed as text, ...).
    for item in input_notices(result):
        print(f"{'warning' if item.warning else 'note'}: {item.text}")
    for line in prediction_lines(result, arrays, lens_asked=args.lens):
        print(line)
    return 0


def run_compare(argv: list[str]) -> int:
    """Headless compare mode: two sentences through one model, every difference into one npz.

    With ``--model-b``: one text through two models (layer CKA, tokens aligned by characters).
    """
    parser = argparse.ArgumentParser(
        prog="bert-explorer compare",
        description="Run two sentences through the same model and save both results and "
        "their differences (B − A) and cosine similarities as .npz; or, with --model-b, one "
        "text through two models (linear CKA between every two layers, tokens aligned by "
        "character spans when the tokenizers differ).",
    )
    parser.add_argument("text_a", help="sentence A (with --model-b: the text)")
    parser.add_argument(
        "text_b", nargs="?", help="sentence B (e.g. A with one word changed); not with --model-b"
    )
    model_argument(parser)
    parser.add_argument("--model-b", help="a second model: compare two models on TEXT")
    out_argument(parser)
    args = parser.parse_args(argv)
    if args.model_b is not None or args.text_b is None:
        return _compare_models(args)
    from explorer.commands.common import out_problem
    from explorer.core.api import inspect
    from explorer.core.compare import compare_results

    if (problem := out_problem(args.out)) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    for name, text in (("TEXT_A", args.text_a), ("TEXT_B", args.text_b)):
        if not text.strip():
            print(f"error: {name} is empty; give two sentences to compare.", file=sys.stderr)
            return 2
    try:
        comparison = compare_results(
            inspect(args.text_a, model=args.model), inspect(args.text_b, model=args.model)
        )
        comparison.to_npz(args.out)
    except ExplorerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: could not write {args.out}: {err.strerror or err}", file=sys.stderr)
        return 2
    a, b = comparison.a, comparison.b
    pooled = (
        f" · pooled cosine {comparison.pooled_cosine:.4f}"
        if comparison.pooled_cosine is not None
        else ""
    )
    print(
        f"A {a.num_tokens} tokens, B {b.num_tokens} tokens, {a.num_layers} layers × "
        f"{a.num_heads} heads{pooled} → {args.out}"
    )
    if not comparison.same_token_count:
        print(f"note: {comparison.attention_note} (The file has no attention_diff.)")
        print(f"note: {comparison.alignment.describe()}")
    for name, result in (("A", a), ("B", b)):
        if result.truncated:
            print(f"note: {name} was truncated: {result.tokens_dropped} tokens dropped")
        if result.non_finite is not None:
            print(f"warning: {name}: {result.non_finite.describe()}")
    return 0


def _compare_models(args: argparse.Namespace) -> int:
    """``compare TEXT --model A --model-b B``: both models loaded once, one text through each."""
    from explorer.commands.common import error, load, out_problem

    if args.model_b is None:
        return error("give a second sentence, or a second model with --model-b.")
    if args.text_b is not None:
        return error("with --model-b, give one text: both models read the same text.")
    if not args.text_a.strip():
        return error("TEXT is empty; give a text to run through both models.")
    if (problem := out_problem(args.out)) is not None:
        return error(problem)
    from explorer.core.compare_models import compare_models
    from explorer.core.inference import run_inference

    try:
        a = run_inference(load(args.model), args.text_a)
        b = run_inference(load(args.model_b), args.text_a)
        comparison = compare_models(a, b)
        comparison.to_npz(args.out)
    except ExplorerError as err:
        return error(str(err))
    except OSError as err:
        return error(f"could not write {args.out}: {err.strerror or err}")
    cka = comparison.layer_cka_ab
    same_depth = ""
    if a.num_layers == b.num_layers:
        same_depth = f", same-depth mean {float(cka.diagonal().mean()):.3f}"
    print(
        f"A {a.model.model_type} {a.num_tokens} tokens, {a.num_layers} layers · B "
        f"{b.model.model_type} {b.num_tokens} tokens, {b.num_layers} layers · layer CKA "
        f"{cka.shape[0]}×{cka.shape[1]}{same_depth} → "
        f"{args.out}"
    )
    print(f"note: {comparison.alignment.describe()}")
    for name, result in (("A", a), ("B", b)):
        if result.truncated:
            print(f"note: {name} was truncated: {result.tokens_dropped} tokens dropped")
    return 0


def _headless(command: Callable[[list[str]], int], argv: list[str]) -> int:
    """Run a headless command; whatever escapes it is one line on stderr and exit code 2.

    The commands turn every expected failure into a message themselves; this is the net for
    the unexpected, so a script sees a reason and an exit code, never a traceback.
    """
    try:
        return command(argv)
    except KeyboardInterrupt:  # Ctrl-C while the model loads, or a command without checkpoints
        print("cancelled: interrupted; nothing was written.", file=sys.stderr)
        return 130
    except Exception as err:
        detail = " ".join(str(err).split())[:300]
        print(f"error: unexpected {type(err).__name__}: {detail}", file=sys.stderr)
        return 2


def _headless_commands() -> dict[str, Callable[[], Callable[[list[str]], int]]]:
    """Each headless command's name and how to get its runner (imported only when run)."""

    def explain() -> Callable[[list[str]], int]:
        from explorer.commands.explain import run_explain

        return run_explain

    def context() -> Callable[[list[str]], int]:
        from explorer.commands.context import run_context

        return run_context

    def corpus() -> Callable[[list[str]], int]:
        from explorer.commands.corpus import run_corpus

        return run_corpus

    return {
        "inspect": lambda: run_inspect,
        "compare": lambda: run_compare,
        "explain": explain,
        "context": context,
        "corpus": corpus,
    }


def _misplaced_command(argv: list[str], commands: Mapping[str, object]) -> str | None:
    """Why ``argv`` is neither a window's arguments nor a command, or None.

    Without it ``bert-explorer --model m corpus f.txt`` and a misspelt ``contxt`` were read as
    a session file and ended in argparse's "unrecognized arguments".
    """
    names = ", ".join(commands)
    positionals = [
        a
        for i, a in enumerate(argv)
        if not a.startswith("-") and not (i > 0 and argv[i - 1] in GUI_OPTIONS)
    ]
    if not positionals:
        return None
    found = next((a for a in positionals if a in commands), None)
    if found is not None:
        return (
            f"put the command first, its options after it: bert-explorer {found} … "
            f"(see bert-explorer {found} --help)."
        )
    first = positionals[0]
    if not first.lower().endswith(".json") and not Path(first).exists():
        return f"{first!r} is neither a command ({names}) nor a session file (.json)."
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bert-explorer`` console script and ``python -m explorer``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = _headless_commands()
    command = commands.get(argv[0]) if argv else None
    if command is not None:
        return _headless(command(), argv[1:])
    if (misplaced := _misplaced_command(argv, commands)) is not None:
        print(f"error: {misplaced}", file=sys.stderr)
        return 2
    args = _gui_parser().parse_args(argv)
    from explorer.core.sources import ModelSource

    try:
        source = ModelSource.parse(args.model) if args.model is not None else None
    except ExplorerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    text = args.text if args.text is not None or args.pair is None else ""
    pair = args.pair
    from explorer.gui.app import run_gui

    return run_gui(source, text, pair, session=args.session)
