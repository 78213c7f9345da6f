import numpy as np, sys
import os
exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lawnd.py')).read())
dim=int(sys.argv[1]); Ks=[int(k) for k in sys.argv[2].split(',')]; nux=float(sys.argv[3]) if len(sys.argv)>3 else 1.0
D=os.environ.get('DATA', f'runs/nd{dim}/data')
X=np.load(D+'/x.npy'); MU=np.load(D+'/mu.npy'); Y=np.load(D+'/y.npy')
d=dim; sx=X.std(); sm=MU.std(); h=0.1
Xn=np.hstack([X/sx, MU/sm])
x0=0.3*np.ones(d)
def est(xq,mq,K,bil=True):
    q=np.concatenate([xq/sx,[mq/sm]])
    dist=((Xn-q)**2).sum(1); idx=np.argpartition(dist,K)[:K]
    u=np.hstack([X[idx]-xq, MU[idx]-mq])
    if bil: u=np.hstack([u,(MU[idx]-mq)*(X[idx]-xq)])
    w=np.exp(-((X[idx]-xq)**2).sum(1)/(2*nux**2) - ((MU[idx,0]-mq)**2)/(2*0.25)); w/=w.max()
    y=Y[idx]-X[idx]
    W=w.sum(); um=w@u/W; ym=w@y/W; U=u-um
    G=(U*w[:,None]).T@U; B=np.linalg.solve(G,(U*w[:,None]).T@(y-ym)); a=ym-um@B
    r=y-u@B-a
    s=(r**2).sum(1); gs=np.linalg.solve(G,(U*w[:,None]).T@(s-(w@s)/W)); s0=(w@s)/W-um@gs
    sj=s0+u@gs; ratio=np.clip(np.where(sj>0,s0/sj,4),0.25,4); r=r*np.sqrt(ratio)[:,None]
    L=np.linalg.cholesky(G); v=np.linalg.solve(L,U.T); lam=((w**2).sum()/W+(w**2*(v**2).sum(0)).sum())/W
    rc=r-(w@r)/W; C=(rc*w[:,None]).T@rc/W/(1-lam)
    return a, C, W**2/(w**2).sum()
for K in Ks:
    fro=[];var=[];me=[]
    for mq in [0.5,0.95,1.4,2.0]:
        Phi,S,R=law(mq,h,d); a,C,ess=est(x0,mq,K,bil=(d<=20))
        fro.append(np.linalg.norm(C-S)/np.linalg.norm(S)); var.append(np.max(np.abs(np.diag(C)/np.diag(S)-1))); me.append(np.linalg.norm(a-(Phi@x0-x0)))
    print(f"d={d} K={K} nu={nux} kernel-ESS~{ess:.0f}: local cov at x0: fro {np.round(np.array(fro)*100,1)}%  max var {np.round(np.array(var)*100,1)}%  mean err {np.round(me,4)}")
