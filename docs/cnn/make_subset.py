"""Fashion-MNIST subset for the CNN results: T1 = first N1 of a seeded permutation of the 60000 training
images, T2 = the next N2, test = the first NT of a seeded permutation of the 10000 official test images;
pixels / 255, centred by T1's per-pixel mean (what load_dataset's 'center' does), shaped (n, 28, 28)."""
import sys
import numpy as np
from hyperreg.data import load_dataset

n1, n2, nt, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ds = load_dataset("fashion-mnist", seed=0, preprocess="none")
X = np.concatenate([ds.X_train, ds.X_val]); y = np.concatenate([ds.y_train, ds.y_val])
rng = np.random.default_rng(0)
p = rng.permutation(len(X)); q = rng.permutation(len(ds.X_test))
Xtr, ytr = X[p[:n1]], y[p[:n1]]
Xva, yva = X[p[n1:n1 + n2]], y[p[n1:n1 + n2]]
Xte, yte = ds.X_test[q[:nt]], ds.y_test[q[:nt]]
mu = Xtr.mean(0)
f = lambda A: (A - mu).reshape(-1, 28, 28)
np.savez(out, X=f(Xtr), y=ytr, X_val=f(Xva), y_val=yva, X_test=f(Xte), y_test=yte)
print(out, Xtr.shape, Xva.shape, Xte.shape, float(X.max()))
