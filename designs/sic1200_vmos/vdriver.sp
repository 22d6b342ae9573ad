* sic1200_vmos: 1200 V vertical SiC power MOSFET (vmos) with its on-chip
* gate driver.
*
*   IN -[inv]-[inv]-[inv]--RG--+--XQ (vmos: 8 stripes x 100 um, JTE + 3 rings)
*       x3 per stage, 20 V     |   drain = the die backside (BACKMET)
*                              GND (front-side source sheet)
*
* The drain of a vertical MOSFET is the whole backside of the die, reached by
* the package's die attach, not by front-side metal: its net BACKDRAIN has no
* pad and no front-side wire (it is not a port of the top cell), and the
* router has nothing to join on it.  The source sheet is the driver's ground.

.include "inv.sp"

.subckt vdriver IN VDD GND
X1 IN a1 VDD GND inv wn=10u wp=20u
X2 a1 a2 VDD GND inv wn=30u wp=60u nfp=2
X3 a2 drv VDD GND inv wn=90u wp=180u nfn=2 nfp=4
RG drv gate rpoly r=20 w=10u
XQ BACKDRAIN gate GND vmos ncell=8 lcell=100u
.ends vdriver
