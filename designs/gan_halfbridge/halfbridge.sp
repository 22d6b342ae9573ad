* gan_halfbridge: 650 V GaN half-bridge power stage with integrated gate drivers.
*
*            VBUS                      QH/QL: e-mode power HEMTs, 6 mm each
*             |                        XH/XL: gate drivers (4-stage DCFL
*   INH-[XH]--QH   (driver on SW/VB)          buffer chain + totem-pole
*             +---- SW                        output + gate resistor +
*   INL-[XL]--QL   (driver on PGND/VDDL)      pull-down resistor)
*             |
*            PGND

.include "dcfl.sp"

* Totem-pole gate driver referenced to 'ref', supplied from 'vdrv'.
.subckt gate_driver in gate vdrv ref rg=10 rpd=10k
X1 in a1 vdrv ref dcfl_inv wd=10u we=20u
X2 a1 a2 vdrv ref dcfl_inv wd=10u we=40u
X3 a2 a3 vdrv ref dcfl_inv wd=20u we=80u nfe=2
X4 a3 a4 vdrv ref dcfl_inv wd=20u we=80u nfe=2
* push-pull output: pull-up follows a4, pull-down follows its inverse a3
XPU vdrv a4 drv hemte w=400u l=1u nf=4 lgd=3u
XPD drv a3 ref hemte w=400u l=1u nf=4 lgd=3u
* gate resistor and gate pull-down (keeps the power HEMT off unpowered)
RG drv gate r2deg r={rg*20} w=20u
RPD gate ref r2deg r={rpd} w=4u
.ends gate_driver

.subckt halfbridge VBUS SW PGND VB INH VDDL INL
XH INH GH VB SW gate_driver
XL INL GL VDDL PGND gate_driver
XQH VBUS GH SW hemte w=6000u l=1u nf=20 lgd=15u
XQL SW GL PGND hemte w=6000u l=1u nf=20 lgd=15u
.ends halfbridge
