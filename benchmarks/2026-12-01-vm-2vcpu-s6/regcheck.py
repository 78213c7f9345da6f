import numpy as np, json, sys
import os
exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lawnd.py')).read())
Ld=sys.argv[1]
x=np.load(Ld+'/x.npy'); mu=np.load(Ld+'/mu.npy')[:,0]; z=np.load(Ld+'/z.npy'); lab=np.load(Ld+'/label.npy')
meta=json.load(open(Ld+'/labels.json')); c=meta['settings']['scale']; h=meta['dt']; d=x.shape[1]
x0=0.3*np.ones(d)
out=[]
for m in np.unique(mu):
    k=mu==m; Phi,S,R=law(m,h,d)
    X=np.hstack([np.ones((k.sum(),1)), x[k]-x0, z[k]])
    coef,*_=np.linalg.lstsq(X, lab[k]/c, rcond=None)
    a=coef[0]; Bm=coef[1:d+1].T; C=coef[d+1:].T
    res=lab[k]/c - X@coef
    Cov=C@C.T
    me=np.linalg.norm(a-(Phi@x0-x0)); ve=np.max(np.abs(np.diag(Cov)/np.diag(S)-1)); fe=np.linalg.norm(Cov-S)/np.linalg.norm(S)
    # residual after linear fit, whitened
    rr=np.sqrt((res**2).mean(0)/np.diag(S)).mean()
    print(f"mu={m:.2f} lin-fit mean err at x0 {me:.4f} var max {ve*100:.2f}% fro {fe*100:.2f}% drift-matrix err {np.linalg.norm(Bm-(Phi-np.eye(d)))/np.linalg.norm(Phi-np.eye(d))*100:.1f}% nonlinear resid rms/sd {rr:.3f}")
