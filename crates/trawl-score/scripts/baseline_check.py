#!/usr/bin/env python3
"""Check trawl-score's Rust baseline against scikit-learn itself on one split.

The reference: TfidfVectorizer(analyzer='char', ngram_range=(1, 5)) +
LogisticRegression(C=10, class_weight='balanced'), one pipeline per task (phishing vs
benign, DGA vs benign), trained on the same names as the Rust baseline
(trawl_score::baseline). Not a CI test: it needs scikit-learn and the shared lists.

    python3 -m venv /work/venv-sk && /work/venv-sk/bin/pip install scikit-learn
    cargo run --release -p trawl-score --example model -- \
        baseline-check $TRAWL_SHARED/domains /tmp/baseline-check
    /work/venv-sk/bin/python crates/trawl-score/scripts/baseline_check.py /tmp/baseline-check

The example writes train.tsv / test.tsv (name, class) of the seed-42 split that
`trawl model eval` uses and rust.json with the Rust baseline's figures on it; this script
trains scikit-learn on train.tsv, scores test.tsv and prints both with the differences.
Extra arguments are LogisticRegression settings to try besides the defaults (max_iter 100,
tol 1e-4), as MAX_ITER[:TOL], e.g. 1000:1e-6; rust.json holds whatever the example was run
with (MAXITER and TOL in its environment).
"""

import json
import sys
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score


def read(path):
    names, classes = [], []
    with open(path) as f:
        for line in f:
            n, c = line.rstrip("\n").split("\t")
            names.append(n)
            classes.append(c)
    return np.array(names, dtype=object), np.array(classes)


def tpr_at(pos, neg, fpr):
    """As trawl_score::eval: the threshold is the k-th highest negative, k = floor(fpr n);
    TPR counts positives strictly above it."""
    s = np.sort(neg)[::-1]
    k = int(np.floor(fpr * len(s)))
    t = s[k] if k < len(s) else 1.0
    return float(np.mean(pos > t))


def main():
    out = sys.argv[1]
    # Extra arguments: max_iter[:tol] settings to try besides scikit-learn's defaults.
    runs = [(100, 1e-4)] + [
        (int(a.split(":")[0]), float(a.split(":")[1]) if ":" in a else 1e-4)
        for a in sys.argv[2:]
    ]
    tr_n, tr_c = read(f"{out}/train.tsv")
    te_n, te_c = read(f"{out}/test.tsv")
    rust = json.load(open(f"{out}/rust.json"))
    print(f"train {len(tr_n)} names, test {len(te_n)}; Rust baseline trained in "
          f"{rust['train_seconds']:.1f} s, vocabularies {rust['vocabulary']}")
    worst = 0.0
    for task in ("phish", "dga"):
        tr = (tr_c == "benign") | (tr_c == task)
        te = (te_c == "benign") | (te_c == task)
        vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 5))
        t0 = time.time()
        x = vec.fit_transform(tr_n[tr])
        xt = vec.transform(te_n[te])
        y = (tr_c[tr] == task).astype(int)
        yt = te_c[te] == task
        print(f"{task}: vocabulary {len(vec.vocabulary_)} (Rust {rust['vocabulary'][0 if task == 'phish' else 1]})")
        for it, tol in runs:
            t1 = time.time()
            lr = LogisticRegression(C=10, class_weight="balanced", max_iter=it, tol=tol)
            lr.fit(x, y)
            z = lr.decision_function(xt)
            pos, neg = z[yt], z[~yt]
            sk = {
                "auc": roc_auc_score(yt, z),
                "tpr_at_1pct": tpr_at(pos, neg, 0.01),
                "tpr_at_01pct": tpr_at(pos, neg, 0.001),
            }
            print(f"  scikit-learn max_iter={it} tol={tol:g} ({lr.n_iter_[0]} iterations, "
                  f"{time.time() - t1:.1f} s fit, {t1 - t0:.1f} s vectorise):")
            for k, v in sk.items():
                r = rust[task][k]
                print(f"    {k:<13} sklearn {v:.4f}  rust {r:.4f}  diff {r - v:+.4f}")
                if (it, tol) == (100, 1e-4):
                    worst = max(worst, abs(r - v))
    print(f"largest difference at max_iter=100: {worst:.4f}")


if __name__ == "__main__":
    main()
