#!/usr/bin/env python3
"""An independent implementation of the chunker rule (include/dockform/archive/chunker.hpp),
used to compute the golden values in tests/unit/test_seekable.cpp: the gear table's first and
last values, the two masks, and the chunk lengths of 24 MiB of std::mt19937(33) bytes (the
low byte of each output, as test::random_bytes makes them). Slow (about 90 s); run by hand."""
M=(1<<64)-1
def sm(state):
    state=(state+0x9e3779b97f4a7c15)&M
    z=state
    z=((z^(z>>30))*0xbf58476d1ce4e5b9)&M
    z=((z^(z>>27))*0x94d049bb133111eb)&M
    return state, z^(z>>31)
st=0x646f636b666f726d; G=[]
for i in range(256):
    st,v=sm(st); G.append(v)
print(hex(G[0]),hex(G[1]),hex(G[255]))
def mask(k):
    m=0
    for i in range(k): m|=1<<(47-(i*48)//k)
    return m
print(hex(mask(21)),hex(mask(19)))
import random
def mt(seed):
    mtst=[seed&0xffffffff]
    for i in range(1,624):
        mtst.append((1812433253*(mtst[-1]^(mtst[-1]>>30))+i)&0xffffffff)
    r=random.Random(); r.setstate((3,tuple(mtst+[624]),None)); return r
r=mt(33)
data=bytes(r.getrandbits(32)&0xff for _ in range(24<<20))
print(data[:8].hex())
MS,ML=mask(21),mask(19)
MIN,AVG,MAX=256<<10,1<<20,4<<20
out=[];i=0;n=len(data)
while i<n:
    start=i; j=start+MIN; h=0; cut=None
    while j<n:
        h=((h<<1)+G[data[j]])&M; j+=1; L=j-start
        m=MS if L<AVG else ML
        if (h&m)==0 or L==MAX: cut=L;break
    if cut is None: out.append(min(n,j)-start) if j<n else out.append(n-start); break
    out.append(cut); i=start+cut
print(out)
