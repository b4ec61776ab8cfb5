"""``hyperreg figure NAME``: the papers' figures, PNG + JSON under ``--out`` (digits by default).

Names: fig1 (λ trajectories over a grid's test cost, Luketina Fig. 1), fig4 (fixed λ before vs after
tuning), fig5 (tuned vs rerun), fig6 (validation vs test error), table2 (ICLR-2018 Table 2 analogue),
recovery (the defaults from λ₀ far below and above the default start).
The run options are ``hyperreg tune``'s; ``--quick`` shrinks every sweep to a smoke test.
"""

from __future__ import annotations

from . import writable_dir
from ._tune import add_config_options, config_from_args

NAMES = ("fig1", "fig4", "fig5", "fig6", "table2", "recovery")


def add_parser(sub):
    p = sub.add_parser("figure", help="reproduce a figure of the papers (fig1 fig4 fig5 fig6 table2) "
                                           "or the recovery check",
                       description="fig1: λ trajectories over the grid-search test cost (Luketina Fig. 1); "
                                   "fig4: test error at the fixed initial vs final λ; fig5: tuned run vs rerun; "
                                   "fig6: validation vs test error at the end of tuning; table2: the ICLR-2018 "
                                   "Table 2 analogue (4×100 MLP, L2, fixed grid vs UnrollK / ClipR); "
                                   "recovery: the defaults from λ₀ three decades below / above the default start.")
    p.add_argument("name", choices=NAMES, metavar="NAME", help=" | ".join(NAMES))
    add_config_options(p)
    p.add_argument("--jobs", type=int, default=1, help="parallel trainings (-1: all cores; default 1)")
    p.add_argument("--out", default="hyperreg-figures", metavar="DIR", help="output directory")
    p.set_defaults(func=run)


def run(args):
    from ..experiments import figures
    from . import CLIError

    if args.jobs == 0 or args.jobs < -1:
        raise CLIError(f"--jobs must be ≥ 1 or -1 (all cores), got {args.jobs}")
    config = config_from_args(args, **({"epochs": 2} if args.quick and args.epochs is None else {}))
    writable_dir(args.out, "--out")
    result = figures.FIGURES[args.name](config, args.out, quick=args.quick, jobs=args.jobs)
    if args.name == "table2":
        paths, rows = result
        print(f"hyperreg figure table2 ({config.data}): validation cross-entropy, mean over inits")
        print(figures.format_table2(rows))
    else:
        paths = result
    if args.name == "recovery":
        import json

        with open(paths[-1]) as f:
            print(figures.format_recovery(json.load(f)["rows"]))
    print(f"hyperreg figure {args.name}: wrote {', '.join(paths)}")
    return 0
