"""The digits η/λ grid search as GridSearchCV(MLPClassifier), spread over a Dask cluster.

Each grid point is a scikit-learn fit of ``nn.sklearn.MLPClassifier`` (64-50-10, SGD);
joblib's Dask backend sends the fits to the cluster's workers. With no ``--scheduler``
a ``dask.distributed.LocalCluster`` starts on this machine; on a real cluster run
``dask scheduler`` on one machine, ``dask worker tcp://HOST:8786`` on the others, then

    python examples/grid_search_dask.py --scheduler tcp://HOST:8786

The same grid also runs serially (skip it with ``--no-serial``): both give identical
scores and the same best parameters, since every fit draws from its own seed. Needs
the ``sklearn`` and ``distributed`` extras (figures: ``plots``).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from common import parser, pyplot, save, table

import nn

RESULT_KEYS = ("mean_train_score", "mean_test_score")


def make_search(epochs: int, exponents: range, cv: int, seed: int):
    """GridSearchCV over alpha (λ) and learning_rate_init (η) of the course's 64-50-10 network."""
    from sklearn.model_selection import GridSearchCV

    from nn.sklearn import MLPClassifier

    net = MLPClassifier(hidden_layer_sizes=(50,), solver="sgd", momentum=0.0, batch_size=32, max_iter=epochs,
                        n_iter_no_change=epochs, random_state=seed)
    grid = {"alpha": [10.0 ** e for e in exponents], "learning_rate_init": [10.0 ** e for e in exponents]}
    return GridSearchCV(net, grid, cv=cv, return_train_score=True, error_score=np.nan)


def fit_search(search, X, y, client=None) -> tuple[object, float]:
    """Fit the search serially, or through joblib's Dask backend on ``client``; the wall time too."""
    import joblib

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # diverged settings (error_score=nan) and unconverged fits
        if client is None:
            search.set_params(n_jobs=None).fit(X, y)
        else:
            with joblib.parallel_backend("dask"):
                search.set_params(n_jobs=-1).fit(X, y)
    return search, time.perf_counter() - start


def scores(search) -> dict[str, np.ndarray]:
    """Train and validation accuracy per grid point, as (λ rows, η columns) matrices."""
    res = search.cv_results_
    n = int(round(np.sqrt(len(res["params"]))))
    return {k: np.asarray(res[k], dtype=float).reshape(n, n) for k in RESULT_KEYS}


def same_results(a, b) -> bool:
    """Identical scores (NaN where a setting diverged in both) and the same best parameters."""
    sa, sb = scores(a), scores(b)
    return a.best_params_ == b.best_params_ and all(np.array_equal(sa[k], sb[k], equal_nan=True) for k in sa)


def start_client(scheduler: str | None, workers: int, processes: bool):
    """A Dask client of the scheduler at ``scheduler``, or of a new LocalCluster."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("grid_search_dask needs Dask; install it with: pip install 'chainrule[distributed]'"
                          ) from None
    if scheduler:
        return Client(scheduler)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=None)
    return Client(cluster)


def heatmaps(search, exponents: range, out) -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, (key, title) in zip(axes, [("mean_train_score", "train accuracy"),
                                       ("mean_test_score", "cross-validated accuracy")], strict=True):
        m = scores(search)[key]
        im = ax.imshow(m, vmin=0, vmax=1, cmap="viridis", origin="lower")
        ticks = [f"1e{e}" for e in exponents]
        ax.set_xticks(range(len(ticks)), ticks, rotation=45)
        ax.set_yticks(range(len(ticks)), ticks)
        ax.set_xlabel("learning rate η")
        ax.set_ylabel("L2 penalty λ (alpha)")
        ax.set_title(title)
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, "—" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="black" if np.isnan(v) or v >= 0.6 else "white")
    fig.colorbar(im, ax=axes, shrink=0.8)
    fig.set_layout_engine("constrained")
    save(fig, out, "grid_search_dask.png")


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://HOST:8786 "
                                       "(default: start a LocalCluster here)")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster workers (default 2)")
    p.add_argument("--threads", action="store_true", help="LocalCluster workers as threads, not processes")
    p.add_argument("--no-serial", action="store_true", help="skip the serial run (no comparison)")
    p.add_argument("--epochs", type=int, default=20, help="epochs per fit")
    p.add_argument("--cv", type=int, default=3, help="cross-validation folds")
    args = p.parse_args(argv)
    exponents = range(-5, 2)
    if args.quick:
        args.epochs, args.cv, exponents = 2, 2, range(-2, 0)
    X_train, X_test, y_train, y_test = nn.datasets.load_digits(seed=args.seed)
    client = start_client(args.scheduler, args.workers, processes=not args.threads)
    try:
        print(f"Dask: {client}")
        search, t_cluster = fit_search(make_search(args.epochs, exponents, args.cv, args.seed), X_train, y_train,
                                       client)
    finally:
        client.close()
        if not args.scheduler:
            client.cluster.close()
    result = {"cluster_seconds": t_cluster, "best_params": search.best_params_, "scores": scores(search)}
    if not args.no_serial:
        serial, t_serial = fit_search(make_search(args.epochs, exponents, args.cv, args.seed), X_train, y_train)
        result.update(serial_seconds=t_serial, identical=same_results(search, serial))
        print(f"wall time: serial {t_serial:.1f} s, Dask {t_cluster:.1f} s ({t_serial / t_cluster:.2f}x); "
              f"identical results: {result['identical']}")
    else:
        print(f"wall time: Dask {t_cluster:.1f} s")
    rows = [[f"1e{e}"] + ["diverged" if np.isnan(a) else f"{a:.1%}" for a in row]
            for e, row in zip(exponents, result["scores"]["mean_test_score"], strict=True)]
    print("cross-validated accuracy, λ (rows) by η (columns):")
    print(table(rows, ["λ \\ η"] + [f"1e{e}" for e in exponents]))
    test_acc = search.score(X_test, y_test)
    result["test_accuracy"] = test_acc
    print(f"best: {search.best_params_}; test accuracy of the refitted best model: {test_acc:.1%}")
    heatmaps(search, exponents, args.out)
    return result


if __name__ == "__main__":
    main()
