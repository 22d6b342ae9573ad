* ganrf025_lna: single-stage GaN HEMT low-noise / driver amplifier, ganrf025 kit.
*
*  GSG in -C1-+--Q1--+--C3-- GSG out
*             |      |
*  VG  --R1---+  L1--VD--C2--bsvgnd
*
* A 0.2 mm HEMT (six fingers: three 4 um drain fingers carry its 50 mA at
* the MET1 limit, see the kit's terminal ratings; gate- and source-connected
* field plates, source vias built in) between GSG probe pads:
* the gate biased through a NiCr resistor, the drain fed through a spiral
* inductor decoupled by a MIM capacitor to a backside via; MIM DC blocks
* at the RF input and output.  MIM values are in pF (kit unit); lengths in SI.

.subckt lna VG VD
XPIN rfin gin gsg size=60u pitch=100u
C1 rfin g1 mim c=1.0
R1 VG g1 tfr r=2k w=4u
XQ1 d1 g1 s1 hemt w=200u nf=6 lgd=3u lfp=0.8u lsfp=0.5u bsv=1
XL1 VD d1 spiral n=3 w=10u s=5u din=60u
C2 VD gd mim c=5
XG1 gd bsvgnd
C3 d1 rfout mim c=1.0
XPOUT rfout gout gsg size=60u pitch=100u
.ends lna
