* tiny_divider: two film resistors between IN and GND, tapped at OUT.
.subckt divider IN OUT GND
R1 IN OUT res r=2000 w=4u
R2 OUT GND res r=1000 w=4u
.ends divider
