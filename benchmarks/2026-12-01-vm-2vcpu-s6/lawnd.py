import numpy as np
from scipy.linalg import expm, sqrtm
def law(m,h,d):
    B=np.zeros((d,d))
    for i in range(d):
        if i+1<d: w=0.75+0.25*np.cos(i+1); B[i,i+1]=w; B[i+1,i]=-w
        if i+2<d: b=0.2+0.1*np.cos(2*i+1); B[i,i+2]=b; B[i+2,i]=-b
    Lf=np.eye(d)+np.diag(0.5*np.ones(d-1),-1)
    A=-(m*np.eye(d)+B); Q=2*m*Lf@Lf.T
    M=np.zeros((2*d,2*d)); M[:d,:d]=-A; M[:d,d:]=Q; M[d:,d:]=A.T
    E=expm(M*h); Phi=E[d:,d:].T; S=Phi@E[:d,d:]
    return Phi,S,np.real(sqrtm(S))
