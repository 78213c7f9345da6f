import numpy as np, json, sys
from scipy.linalg import expm, sqrtm
L = sys.argv[1]
x=np.load(L+'/x.npy'); mu=np.load(L+'/mu.npy')[:,0]; z=np.load(L+'/z.npy'); lab=np.load(L+'/label.npy')
meta=json.load(open(L+'/labels.json')); c=meta['settings']['scale']; h=meta['dt']; d=x.shape[1]
B=np.zeros((d,d))
for i in range(d):
    if i+1<d: w=0.75+0.25*np.cos(i+1); B[i,i+1]=w; B[i+1,i]=-w
    if i+2<d: b=0.2+0.1*np.cos(2*i+1); B[i,i+2]=b; B[i+2,i]=-b
Lf=np.eye(d)+np.diag(0.5*np.ones(d-1),-1)
def law(m):
    A=-(m*np.eye(d)+B); Q=2*m*Lf@Lf.T
    M=np.zeros((2*d,2*d)); M[:d,:d]=-A; M[:d,d:]=Q; M[d:,d:]=A.T
    E=expm(M*h); Phi=E[d:,d:].T; S=Phi@E[:d,d:]
    return Phi,S
disp=lab/c
rows=[]
for m in np.unique(mu):
    k=mu==m; Phi,S=law(m); R=np.real(sqrtm(S))
    mean=x[k]@Phi.T - x[k]
    exact=mean+z[k]@R.T
    res=disp[k]-exact
    resid=disp[k]-mean
    C=resid.T@resid/k.sum()
    rel_var=np.diag(C)/np.diag(S)-1
    fro=np.linalg.norm(C-S)/np.linalg.norm(S)
    rms=np.sqrt((res**2).mean(0)/np.diag(S)).mean()
    bias=np.linalg.norm(res.mean(0))
    # regression of residual on x: bias as function of x
    print(f"mu={m:.2f} n={k.sum()} rms/sd={rms:.3f} |mean bias|={bias:.4f} var rel: mean {rel_var.mean()*100:+.2f}% max {rel_var.max()*100:+.2f}% min {rel_var.min()*100:+.2f}% fro {fro*100:.2f}%")
