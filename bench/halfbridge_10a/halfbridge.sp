* gan_halfbridge: 650 V GaN half-bridge power stage with integrated gate drivers.
*
*            VBUS                      QH/QL: e-mode power HEMTs, 60 mm each,
*             |                               with a Kelvin source (hemtek)
*   INH-[XH]--QH   (driver on KSH/VB)  XH/XL: gate drivers (4-stage DCFL
*             +---- SW                        buffer chain + totem-pole
*   INL-[XL]--QL   (driver on KSL/VDDL)       output + gate resistor +
*             |                               pull-down resistor)
*            PGND
*
* Each driver returns through its HEMT's Kelvin source (KSH, KSL: tied to the
* source inside the device), not through the power net: the gate loop shares
* no metal with the load current (no common-source inductance), and the 10 A
* power nets join only the HEMT buses and their pads.

.include "dcfl.sp"

* Totem-pole gate driver referenced to 'ref', supplied from 'vdrv'.
.subckt gate_driver in gate vdrv ref rg=20 rpd=10k
X1 in a1 vdrv ref dcfl_inv wd=10u we=20u
X2 a1 a2 vdrv ref dcfl_inv wd=10u we=40u
X3 a2 a3 vdrv ref dcfl_inv wd=20u we=80u nfe=2
X4 a3 a4 vdrv ref dcfl_inv wd=20u we=80u nfe=2
* push-pull output: pull-up follows a4, pull-down follows its inverse a3
XPU vdrv a4 drv hemte w=400u l=1u nf=4 lgd=3u
XPD drv a3 ref hemte w=400u l=1u nf=4 lgd=3u
* gate resistor (thin film: 20 ohm lets the 0.15 A output stage charge the
* 60 mm gate at its full current) and gate pull-down (keeps the power HEMT
* off unpowered)
RG drv gate rtf r={rg} w=20u
RPD gate ref r2deg r={rpd} w=4u
.ends gate_driver

.subckt halfbridge VBUS SW PGND VB INH VDDL INL
XH INH GH VB KSH gate_driver
XL INL GL VDDL KSL gate_driver
XQH VBUS GH SW KSH hemtek w=60000u l=1u nf=60 lgd=15u
XQL SW GL PGND KSL hemtek w=60000u l=1u nf=60 lgd=15u
.ends halfbridge
