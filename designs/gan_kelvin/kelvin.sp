* gan_kelvin: 650 V low-side GaN power switch with its gate driver returned
* to the transistor's Kelvin source, gan650.
*
*   IN -[X1]-[X2]-+- XPU/XPD totem pole -- RG (thin-film) -- g --+
*                 |                                               |
*                 |   DCL: Schottky clamp g -> VDD                XQ  hemtek
*                 |   CD:  MIM decoupling VDD -> KS               |  d = DRAIN
*                 +--- driver ground = KS (Kelvin source) --------+  s = PGND
*
* The driver's return current flows in KS, which meets the power source
* PGND only inside XQ (the hemtek's net tie): the load current's di/dt in
* the PGND bus never enters the gate loop.

.include "dcfl.sp"

.subckt kelvin IN VDD DRAIN PGND
X1 IN a1 VDD KS dcfl_inv wd=10u we=20u
X2 a1 a2 VDD KS dcfl_inv wd=10u we=40u
XPU VDD a2 drv hemte w=200u l=1u nf=6 lgd=3u
XPD drv a1 KS hemte w=200u l=1u nf=6 lgd=3u
RG drv g rtf r=10 w=40u
DCL g VDD sbd w=100u nf=4 lac=3u
CD VDD KS 5p mim
XQ DRAIN g PGND KS hemtek w=2000u nf=10 lgd=15u lfp=5u lgfp=1.5u wm2=8.5u
.ends kelvin
