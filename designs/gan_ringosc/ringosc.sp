* gan_ringosc: 5-stage direct-coupled FET logic (DCFL) ring oscillator, gan650.
* Each inverter: a d-mode HEMT load (gate tied to source) over an e-mode driver.
* Logic devices use a short gate-drain distance (lgd = 3 um): they see 6 V only.

.include "dcfl.sp"

.subckt ringosc VDD GND OUT
X1 n1 n2 VDD GND dcfl_inv
X2 n2 n3 VDD GND dcfl_inv
X3 n3 n4 VDD GND dcfl_inv
X4 n4 n5 VDD GND dcfl_inv
X5 n5 n1 VDD GND dcfl_inv
* output buffer: each stage twice as strong as the one before
XB1 n5 nb VDD GND dcfl_inv wd=10u we=40u
XB2 nb OUT VDD GND dcfl_inv wd=20u we=80u nfe=2
.ends ringosc
