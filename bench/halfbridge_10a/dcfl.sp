* DCFL inverter: d-mode load (gate = source = out), e-mode driver.
.subckt dcfl_inv in out vdd gnd wd=10u we=20u nfe=1
XL vdd out out hemtd w={wd} l=1u lgd=3u
XD out in gnd hemte w={we} l=1u nf={nfe} lgd=3u
.ends dcfl_inv
