* SiC CMOS inverter: pMOS to vdd, nMOS to gnd (bodies tied to the sources).
.subckt inv in out vdd gnd wn=10u wp=20u nfn=1 nfp=1
XP out in vdd pmos w={wp} l=2u nf={nfp}
XN out in gnd nmos w={wn} l=2u nf={nfn}
.ends inv
