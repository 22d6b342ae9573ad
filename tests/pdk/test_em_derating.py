"""One Black's-law derating for the router and the DRC current-density check."""

from __future__ import annotations

import dataclasses
import math

import pytest

import pdk
from flow.drc.kinds.nets import derate
from flow.route.netclass import derating
from pdk.schema import K_B_EV, em_derating


def _mttf(j: float, t_c: float, ea: float, n: float = 2.0) -> float:
    """Black's equation up to its constant: J^-n exp(Ea / kT)."""
    return j ** -n * math.exp(ea / (K_B_EV * (t_c + 273.15)))


@pytest.mark.parametrize("t, ref, ea", [(150.0, 105.0, 0.9), (125.0, 105.0, 0.7), (60.0, 105.0, 0.9), (105.0, 105.0, 0.5)])
def test_same_lifetime(t, ref, ea):
    """The derated limit at T has the lifetime of the reference limit at T_ref."""
    j_ref = 5.0
    j = j_ref * em_derating(t, ref, ea)
    assert _mttf(j, t, ea) == pytest.approx(_mttf(j_ref, ref, ea), rel=1e-12)
    assert (j < j_ref) == (t > ref)


def test_router_and_drc_agree():
    kit = pdk.load("gan650")
    lay = dataclasses.replace(kit.layers["MET1"], jmax_ma_per_um=5.0, jmax_ref_c=105.0, em_ea_ev=0.9)
    for t in (110.0, 150.0, 200.0):
        drc_limit, note = derate(5.0, lay, t)
        assert note is None
        assert drc_limit == pytest.approx(5.0 * derating(t, 105.0, 0.9), rel=1e-12)
    # 20 K above the reference with Ea 0.9 eV: half the current density
    assert derating(125.0, 105.0, 0.9) == pytest.approx(0.4997, abs=1e-4)
    # below the reference the router takes no credit (the DRC limit is Black's)
    assert derating(60.0, 105.0, 0.9) == 1.0
    assert derate(5.0, lay, 60.0)[0] == pytest.approx(5.0 * em_derating(60.0, 105.0, 0.9))
