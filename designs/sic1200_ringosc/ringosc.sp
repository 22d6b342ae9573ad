* sic1200_ringosc: 5-stage SiC CMOS ring oscillator with a two-stage output
* buffer, sic1200 kit.  pMOS are twice as wide as nMOS (hole mobility in
* 4H-SiC inversion layers is about half the electron mobility, or less).

.include "inv.sp"

.subckt ringosc VDD GND OUT
X1 n1 n2 VDD GND inv
X2 n2 n3 VDD GND inv
X3 n3 n4 VDD GND inv
X4 n4 n5 VDD GND inv
X5 n5 n1 VDD GND inv
* output buffer: each stage three times as strong as the one before
XB1 n5 nb VDD GND inv wn=30u wp=60u nfp=2
XB2 nb OUT VDD GND inv wn=90u wp=180u nfn=2 nfp=4
.ends ringosc
