* ganrf025_pa: two-stage GaN HEMT power amplifier, ganrf025 kit.
*
*  GSG in -C1-+--Q1--+--C2-+--Q2--+--C3-- GSG out
*             |      |     |      |
*  VG1 --R1---+  L1--VD1  R2--VG2 L2--VD2
*
* Stage 1 drives stage 2 (0.4 mm -> 0.8 mm gate periphery).  Gates are
* biased through NiCr resistors, drains fed through spiral inductors and
* decoupled by MIM capacitors to backside vias.  Q1's source is grounded by
* a separate backside-via device, Q2 has its source vias built in (bsv=1).
* Each stage carries 0.3 A (design.toml): both HEMTs have eight fingers with
* 4.5 um MET2 straps (four drain fingers, 350 mA; 4 um of MET1 alone carry
* 20 mA a finger), the chokes 15 um IND turns (300 mA at 20 mA/um), 2 x 2
* INDV at each end and a 60 um (L1: 64 um) MET1 underpass and pads (300 mA
* at 5 mA/um):
* see the kit's terminal ratings (pilotflow pdk docs ganrf025).
* MIM values are in pF (kit unit); lengths in SI.

.subckt pa2 VG1 VG2 VD1 VD2
* RF input: GSG probe pad, DC block, gate bias resistor
XPIN rfin gin gsg size=60u pitch=100u
C1 rfin g1 mim c=1.2
R1 VG1 g1 tfr r=1k w=4u
* stage 1
XQ1 d1 g1 s1 hemt w=400u nf=8 lgd=3u lfp=0.8u wm2=4.5u
XS1 s1 bsvgnd n=2
XL1 VD1 d1 spiral n=3 w=15u s=5u din=60u wu=64u
C4 VD1 gd1 mim c=5
XG1 gd1 bsvgnd
* interstage
C2 d1 g2 mim c=1.5
R2 VG2 g2 tfr r=1k w=4u
* stage 2
XQ2 d2 g2 s2 hemt w=800u nf=8 lgd=3u lfp=0.8u bsv=1 wm2=4.5u
XL2 VD2 d2 spiral n=2 w=15u s=5u din=60u wu=60u
C5 VD2 gd2 mim c=5
XG2 gd2 bsvgnd
* RF output: DC block and GSG probe pad
C3 d2 rfout mim c=2
XPOUT rfout gout gsg size=60u pitch=100u
.ends pa2
