* sic1200_driver: 1200 V lateral SiC power MOSFET with its on-chip gate driver.
*
*             DRAIN (1200 V)
*               |
*   IN -[inv]-[inv]-[inv]-[inv]--RG--+--XQ (lmos, 2 mm)
*       x3 per stage, 20 V supply    |  |
*                                    GND
*
* Four CMOS inverters, each about three times as strong as the one before,
* drive the power MOSFET's gate through a poly gate resistor.  The power
* MOSFET's source is the driver's ground (one common GND pad).

.include "inv.sp"

.subckt driver IN VDD GND DRAIN
X1 IN a1 VDD GND inv wn=10u wp=20u
X2 a1 a2 VDD GND inv wn=30u wp=60u nfp=2
X3 a2 a3 VDD GND inv wn=90u wp=180u nfn=2 nfp=4
X4 a3 drv VDD GND inv wn=270u wp=540u nfn=6 nfp=12
RG drv gate rpoly r=20 w=10u
XQ DRAIN gate GND lmos w=2000u l=2u nf=20 ldrift=20u
.ends driver
