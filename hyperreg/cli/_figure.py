"""``hyperreg figure NAME``: the papers' figures, PNG + JSON under ``--out`` (digits by default).

Names: fig1 (λ trajectories over a grid's test cost, Luketina Fig. 1), fig4 (fixed λ before vs after
tuning), fig5 (tuned vs rerun), fig6 (validation vs test error), fig456 (the three from one set of runs),
fig7 (a grid's test cross-entropy beside its test error, from ``--from-grid GRID.json``: no training),
table2 (ICLR-2018 Table 2 analogue), recovery (the defaults from λ₀ far below and above the default start).
The run options are ``hyperreg tune``'s; ``--quick`` shrinks every sweep to a smoke test.
"""

from __future__ import annotations

from . import writable_dir
from ._tune import add_config_options, config_from_args

NAMES = ("fig1", "fig4", "fig5", "fig6", "fig456", "fig7", "table2", "recovery")


def add_parser(sub):
    p = sub.add_parser("figure", help="reproduce a figure of the papers (fig1 fig4 fig5 fig6 table2) "
                                           "or the recovery check",
                       description="fig1: λ trajectories over the grid-search test cost (Luketina Fig. 1); "
                                   "fig4: test error at the fixed initial vs final λ; fig5: tuned run vs rerun; "
                                   "fig6: validation vs test error at the end of tuning; fig456: the three "
                                   "from one set of runs; fig7: a grid's test cross-entropy beside its test "
                                   "error (--from-grid); table2: the ICLR-2018 "
                                   "Table 2 analogue (4×100 MLP, L2, fixed grid vs UnrollK / ClipR); "
                                   "recovery: the defaults from λ₀ three decades below / above the default start.")
    p.add_argument("name", choices=NAMES, metavar="NAME", help=" | ".join(NAMES))
    add_config_options(p)
    p.add_argument("--jobs", type=int, default=1, help="parallel trainings (-1: all cores; default 1)")
    p.add_argument("--out", default="hyperreg-figures", metavar="DIR", help="output directory")
    p.add_argument("--inits", type=int, help="fig4-6, fig456, table2: initial λ drawn (default 8; table2 6); "
                                             "fig1: trajectories per panel (default 4, at most 4)")
    p.add_argument("--grid-points", type=int, help="fig1: grid values per axis (default 6)")
    p.add_argument("--methods", help="table2: comma-separated methods (default all seven of the paper)")
    p.add_argument("--from-grid", metavar="GRID.json", help="fig7: the grid.json of hyperreg grid with two axes")
    p.set_defaults(func=run)


def run(args):
    from ..experiments import figures
    from . import CLIError

    if args.jobs == 0 or args.jobs < -1:
        raise CLIError(f"--jobs must be ≥ 1 or -1 (all cores), got {args.jobs}")
    if args.name == "fig7":
        return _fig7(args)
    config = config_from_args(args, **({"epochs": 2} if args.quick and args.epochs is None else {}))
    extra = {}
    if args.inits is not None:
        if args.name not in ("fig1", "fig4", "fig5", "fig6", "fig456", "table2") or args.inits < 1:
            raise CLIError(f"--inits takes a count ≥ 1 for fig1, fig4, fig5, fig6, fig456 or table2; got "
                           f"{args.inits} for {args.name}")
        extra["n_inits"] = args.inits
    if args.grid_points is not None:
        if args.name != "fig1" or args.grid_points < 2:
            raise CLIError(f"--grid-points takes a count ≥ 2 for fig1; got {args.grid_points} for {args.name}")
        extra["n_grid"] = args.grid_points
    if args.methods:
        if args.name != "table2":
            raise CLIError(f"--methods is for table2, not {args.name}")
        from ..tuner import parse_method

        extra["methods"] = tuple(m.strip() for m in args.methods.split(",") if m.strip())
        for m in extra["methods"]:
            parse_method(m)
    writable_dir(args.out, "--out")
    result = figures.FIGURES[args.name](config, args.out, quick=args.quick, jobs=args.jobs, **extra)
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


def _fig7(args):
    import json

    from ..experiments import figures
    from . import CLIError
    from ._rerun import load_json

    if not args.from_grid:
        raise CLIError("fig7 draws a grid's results: give --from-grid GRID.json (from hyperreg grid, two --axis)")
    doc = load_json(args.from_grid, ("points",), "the grid.json written by hyperreg grid")
    writable_dir(args.out, "--out")
    paths = figures.fig7(doc, args.out)
    with open(paths[-1]) as f:
        fig = json.load(f)
    print(f"hyperreg figure fig7: test CE is lowest at {fig['argmin_test_loss']}, test error at "
          f"{fig['argmin_test_error']}")
    print(f"hyperreg figure fig7: wrote {', '.join(paths)}")
    return 0
