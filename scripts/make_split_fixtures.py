"""scikit-learn's own split indices, pinned for bertrs-data's splits (issue 18).

Run with the reference Python (scikit-learn and numpy as pinned in
scripts/requirements-ref.txt):
    /var/tmp/bert-torch/venv/bin/python scripts/make_split_fixtures.py fixtures/splits/splits.json
`crates/bertrs-data/tests/sklearn_splits.rs` checks every case against this file.
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.model_selection import GroupShuffleSplit, train_test_split


def size(test_size):
    return {"count": test_size} if isinstance(test_size, int) else {"fraction": test_size}


def main(out):
    data = np.random.RandomState(2024)  # only to make the inputs below
    cases = {"versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__}}

    cases["permutation"] = [
        {"seed": seed, "n": n, "indices": np.random.RandomState(seed).permutation(n).tolist()}
        for seed, n in [(0, 10), (42, 10), (1, 1), (7, 0), (42, 1000), (4294967295, 3000)]
    ]

    cases["plain"] = []
    for n, test_size, seed in [(10, 0.3, 42), (100, 0.2, 0), (1000, 0.1, 42), (7, 2, 123), (5000, 0.25, 4294967295)]:
        train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
        cases["plain"].append({"n": n, "test_size": size(test_size), "seed": seed, "train": train.tolist(), "test": test.tolist()})

    cases["stratified"] = []
    stratified_inputs = [
        (data.randint(0, 3, 50).tolist(), 0.2, 42),
        (data.choice(4, 200, p=[0.6, 0.25, 0.1, 0.05]).tolist(), 0.1, 7),
        # equal remainders in every class: _approximate_mode's tie-breaking draws
        ([0, 0, 0, 1, 1, 1, 2, 2, 2], 0.5, 3),
        ([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3], 5, 11),
        (data.randint(0, 5, 1000).tolist(), 0.25, 42),
    ]
    for labels, test_size, seed in stratified_inputs:
        train, test = train_test_split(np.arange(len(labels)), test_size=test_size, random_state=seed, stratify=labels)
        cases["stratified"].append(
            {"labels": labels, "test_size": size(test_size), "seed": seed, "train": train.tolist(), "test": test.tolist()}
        )

    cases["group"] = []
    group_inputs = [
        ([f"movie-{g}" for g in data.randint(0, 20, 120)], 0.2, 42),
        (["b", "a", "c", "a", "b", "d", "e", "é", "Z"], 0.3, 0),
        ([f"g{g}" for g in data.randint(0, 50, 400)], 10, 99),
    ]
    for groups, test_size, seed in group_inputs:
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        train, test = next(splitter.split(np.arange(len(groups)), groups=groups))
        cases["group"].append(
            {"groups": groups, "test_size": size(test_size), "seed": seed, "train": train.tolist(), "test": test.tolist()}
        )

    with open(out, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
