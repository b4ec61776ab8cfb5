"""``hyperreg demo``: the derivative core on digits — a gradient check and greedy hypergradients."""

from __future__ import annotations

from . import check_backend, nonneg_int


def add_parser(sub):
    p = sub.add_parser("demo", help="check the derivative core on digits and print greedy hypergradients")
    p.add_argument("--backend", default="numpy")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.set_defaults(func=run)


def run(args):
    check_backend(args.backend)
    from sklearn.datasets import load_digits

    import hyperreg
    from hyperreg.hypergrad import greedy
    from hyperreg.testing import directional

    X, y = load_digits(return_X_y=True)
    net = hyperreg.MLP([64, 32, 32, 10], l2="per-layer", noise="per-layer", backend=args.backend)
    be = net.backend
    X, y = be.asarray(X / 16.0, dtype="float64"), be.asarray(y)
    Xt, yt, Xv, yv = X[:100], y[:100], X[1000:1200], y[1000:1200]
    rng = be.rng(args.seed)
    theta, lam = net.init_params(args.seed), net.init_hypers(l2=1e-3, noise=0.1)
    noise = net.sample_noise(100, rng)
    w = rng.normal((net.n_params,))
    fd = directional(lambda th: net.train_loss(th, lam, Xt, yt, noise), theta, w)
    g = net.train_grad(theta, lam, Xt, yt, noise)
    print(f"{net}\n  gradient · w = {float(g @ w):+.10f}   finite difference = {float(fd):+.10f}")
    h = greedy(net, theta, lam, (Xt, yt), noise, (Xv, yv), lr=0.1)
    print("  greedy hypergradient dL_V(θ − η g_T)/dλ:")
    for name, v in zip(net.hyper_names, be.to_numpy(h)):
        print(f"    {name:12s} {v:+.3e}")
    return 0
