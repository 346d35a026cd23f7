"""grids.rts_gmlc: the RTS-GMLC loader, checked against the CSVs read here with the csv module.

Needs ../shared/data/rts-gmlc (or $COSIM_DATA_DIR/rts-gmlc); skipped when absent.
"""
from __future__ import annotations

import copy
import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pp = pytest.importorskip("pandapower")

from cosim.errors import InputError  # noqa: E402
from grids.rts_gmlc import load_rts_gmlc  # noqa: E402
from grids.rts_gmlc_series import apply_hour, load_rts_gmlc_series  # noqa: E402

THERMAL = {"Coal": "coal", "NG": "gas", "Oil": "oil", "Nuclear": "nuclear"}
RENEWABLE = {"Wind": "wind", "Solar": "solar", "Hydro": "hydro"}
HOUR = "2020-07-15 17:00"  # a summer afternoon: coal and gas on the margin, wind and PV available


@pytest.fixture(scope="module")
def root(data_dir: Path) -> Path:
    path = data_dir / "rts-gmlc"
    if not (path / "gen.csv").is_file():
        pytest.skip(f"RTS-GMLC data not found in {path}")
    return path


@pytest.fixture(scope="module")
def rows(root):
    """The three static tables as lists of dicts (csv module, independent of the loader)."""

    def read(name):
        with open(root / name, newline="") as handle:
            return list(csv.DictReader(handle))

    return {"gen": read("gen.csv"), "bus": read("bus.csv"), "branch": read("branch.csv")}


@pytest.fixture(scope="module")
def base_net(root):
    return load_rts_gmlc(root)


@pytest.fixture(scope="module")
def day(root, base_net):
    return load_rts_gmlc_series(root, start="2020-07-15 00:00", hours=24, net=base_net)


@pytest.fixture(scope="module")
def dispatched(base_net, day):
    """The full system dispatched by pandapower's DC-OPF at HOUR."""
    net = copy.deepcopy(base_net)
    apply_hour(net, day, HOUR)
    pp.rundcopp(net)
    return net


def _f(text: str) -> float:
    return float(text) if text not in ("", "NA") else math.nan


def _read_row(root: Path, name: str, **match) -> dict:
    with open(root / name, newline="") as handle:
        for row in csv.DictReader(handle):
            if all(row[k] == v for k, v in match.items()):
                return row
    raise AssertionError(f"no row {match} in {name}")


# ---------------------------------------------------------------------------------------
# the static net
# ---------------------------------------------------------------------------------------


def test_buses_and_loads(base_net, rows):
    assert len(base_net.bus) == 73 == len(rows["bus"])
    assert sorted(base_net.bus.index) == sorted(int(r["Bus ID"]) for r in rows["bus"])
    loaded = [r for r in rows["bus"] if float(r["MW Load"]) > 0]
    assert len(base_net.load) == len(loaded)
    assert base_net.load.p_mw.sum() == pytest.approx(sum(float(r["MW Load"]) for r in loaded))
    # shares distribute each area's total: they sum to 1 per area
    assert base_net.load.groupby("area")["load_share"].sum().to_dict() == pytest.approx({1: 1.0, 2: 1.0, 3: 1.0})


def test_thermal_fleet_matches_gen_csv(base_net, rows):
    thermal = [r for r in rows["gen"] if r["Fuel"] in THERMAL and float(r["PMax MW"]) > 0]
    assert len(base_net.gen) == len(thermal) == 73
    assert base_net.gen.in_service.all() and base_net.gen.controllable.all()
    assert base_net.gen.max_p_mw.sum() == pytest.approx(sum(float(r["PMax MW"]) for r in thermal))
    assert base_net.gen.min_p_mw.sum() == pytest.approx(sum(float(r["PMin MW"]) for r in thermal))
    by_fuel = base_net.gen.groupby("fuel")["max_p_mw"].sum().to_dict()
    for rts, ours in THERMAL.items():
        assert by_fuel[ours] == pytest.approx(sum(float(r["PMax MW"]) for r in thermal if r["Fuel"] == rts))
    # names and buses line up unit by unit
    expect = {r["GEN UID"]: int(r["Bus ID"]) for r in thermal}
    assert dict(zip(base_net.gen.name, base_net.gen.bus)) == expect


def test_renewables_and_skipped_units(base_net, rows):
    renewable = [r for r in rows["gen"] if r["Fuel"] in RENEWABLE and r["Unit Type"] != "CSP"]
    assert len(base_net.sgen) == len(renewable)
    assert base_net.sgen.controllable.all()
    assert base_net.sgen.max_p_mw.sum() == pytest.approx(sum(float(r["PMax MW"]) for r in renewable))
    assert set(base_net.sgen.fuel) == {"wind", "solar", "hydro"}
    assert (base_net.sgen.marginal_cost_usd_per_mwh == 0).all()
    assert (base_net.sgen.co2_kg_per_mwh == 0).all() and (base_net.sgen.water_l_per_mwh == 0).all()
    # everything else is reported, nothing vanishes
    modelled = set(base_net.gen.name) | set(base_net.sgen.name)
    others = {r["GEN UID"] for r in rows["gen"]} - modelled
    assert set(base_net.rts_skipped.gen_uid) == others
    assert sorted(base_net.rts_skipped.fuel) == ["Solar", "Storage", "Sync_Cond", "Sync_Cond", "Sync_Cond"]


def test_fuel_water_and_cost_columns(base_net):
    allowed = {"coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "other"}
    assert set(base_net.gen.fuel) <= allowed and set(base_net.sgen.fuel) <= allowed
    water = base_net.gen.groupby("fuel")["water_l_per_mwh"].unique().to_dict()
    gal = {"coal": 450, "gas": 300, "nuclear": 600, "oil": 350}
    for fuel, value in gal.items():
        assert list(water[fuel]) == pytest.approx([value * 3.78541])
    # one linear cost per gen and sgen, cp1 = the marginal cost column
    cost = base_net.poly_cost.set_index(["et", "element"])
    for et in ("gen", "sgen"):
        table = base_net[et]
        assert cost.loc[et].loc[table.index, "cp1_eur_per_mw"].to_numpy() == pytest.approx(
            table.marginal_cost_usd_per_mwh.to_numpy()
        )
    assert (base_net.poly_cost.cp2_eur_per_mw2 == 0).all()
    # fuels rank as expected: the cheapest oil unit costs more than the dearest coal unit
    mc = base_net.gen.groupby("fuel")["marginal_cost_usd_per_mwh"]
    assert mc.min()["oil"] > mc.max()["coal"]
    assert mc.max()["nuclear"] < mc.min()["coal"]


def test_known_units_cost_and_co2_by_hand(base_net, root):
    row = _read_row(root, "gen.csv", **{"GEN UID": "123_STEAM_3"})  # a 350 MW coal unit
    pct = [_f(row[f"Output_pct_{k}"]) for k in range(5)]
    incr = [_f(row[f"HR_incr_{k}"]) for k in range(1, 5)]
    seg = [(incr[k - 1], pct[k] - pct[k - 1]) for k in range(1, 5) if not math.isnan(incr[k - 1]) and not math.isnan(pct[k])]
    hr_incr = sum(h * w for h, w in seg) / sum(w for _, w in seg)
    hr_full = (_f(row["HR_avg_0"]) * pct[0] + sum(h * w for h, w in seg)) / (pct[0] + sum(w for _, w in seg))
    mc = _f(row["Fuel Price $/MMBTU"]) * hr_incr / 1000 + _f(row["VOM"])
    co2 = _f(row["Emissions CO2 Lbs/MMBTU"]) * 0.45359237 * hr_full / 1000
    unit = base_net.gen.loc[base_net.gen.name == "123_STEAM_3"].iloc[0]
    assert unit.fuel == "coal"
    assert (unit.min_p_mw, unit.max_p_mw) == (float(row["PMin MW"]), float(row["PMax MW"]))
    assert unit.marginal_cost_usd_per_mwh == pytest.approx(mc, rel=1e-12)
    assert unit.co2_kg_per_mwh == pytest.approx(co2, rel=1e-12)
    assert 15 < mc < 30 and 900 < co2 < 1200  # plausible for coal: a units slip would show here

    # nuclear has no incremental heat rates (all 0): its cost uses the full-load average
    row = _read_row(root, "gen.csv", **{"GEN UID": "121_NUCLEAR_1"})
    pct = [_f(row[f"Output_pct_{k}"]) for k in range(4)]
    full = (_f(row["HR_avg_0"]) * pct[0]) / pct[3]  # increments are 0
    unit = base_net.gen.loc[base_net.gen.name == "121_NUCLEAR_1"].iloc[0]
    assert unit.marginal_cost_usd_per_mwh == pytest.approx(_f(row["Fuel Price $/MMBTU"]) * full / 1000)
    assert unit.co2_kg_per_mwh == 0.0


def test_dc_model_reproduces_branch_reactances(root, base_net, day, rows):
    """Flows of rundcpp equal (theta_f - theta_t) / (X x Tr Ratio) x 100 MVA from branch.csv."""
    net = copy.deepcopy(base_net)
    apply_hour(net, day, HOUR)
    pp.rundcpp(net)
    assert net.converged
    theta = np.deg2rad(net.res_bus.va_degree)
    line_at = {n: i for i, n in net.line.name.items()}
    trafo_at = {n: i for i, n in net.trafo.name.items()}
    assert len(line_at) + len(trafo_at) == len(rows["branch"]) == 120
    worst = 0.0
    for r in rows["branch"]:
        f, t, x, tap = int(r["From Bus"]), int(r["To Bus"]), float(r["X"]), float(r["Tr Ratio"])
        expected = (theta[f] - theta[t]) / (x * (tap or 1.0)) * 100.0
        if tap > 0:
            i = trafo_at[r["UID"]]
            flow = net.res_trafo.at[i, "p_hv_mw"] * (1 if net.trafo.at[i, "hv_bus"] == f else -1)
            assert net.trafo.at[i, "sn_mva"] * net.trafo.at[i, "max_loading_percent"] / 100 == float(r["Cont Rating"])
        else:
            i = line_at[r["UID"]]
            flow = net.res_line.at[i, "p_from_mw"]
            line = net.line.loc[i]
            rate = line.max_i_ka * net.bus.at[line.from_bus, "vn_kv"] * math.sqrt(3) * line.max_loading_percent / 100
            assert rate == pytest.approx(float(r["Cont Rating"]), rel=1e-12)
        worst = max(worst, abs(flow - expected))
    assert worst < 1e-6
    # some transformer carries real flow, so the tap ratio is exercised
    assert net.res_trafo.p_hv_mw.abs().max() > 50


def test_base_case_power_flow(base_net):
    net = copy.deepcopy(base_net)
    pp.rundcpp(net)
    assert net.converged
    injected = net.res_gen.p_mw.sum() + net.res_sgen.p_mw.sum() + net.res_ext_grid.p_mw.sum()
    assert injected == pytest.approx(net.res_load.p_mw.sum(), abs=1e-6)


# ---------------------------------------------------------------------------------------
# hourly series
# ---------------------------------------------------------------------------------------


def test_series_shape_index_and_values(root, base_net):
    s = load_rts_gmlc_series(root, start="2020-02-28 00:00", hours=72, net=base_net)  # a leap day inside
    load, avail = s["load_mw"], s["sgen_max_mw"]
    assert load.shape == (72, len(base_net.load)) and avail.shape == (72, len(base_net.sgen))
    assert list(load.columns) == list(base_net.load.index) and list(avail.columns) == list(base_net.sgen.index)
    assert str(load.index.tz) == "UTC" and load.index.freqstr == "h" and load.index.name == "time"
    assert (load.index.to_series().dt.date.value_counts() == 24).all()
    assert load.index[24] == pd.Timestamp("2020-02-29 00:00", tz="UTC")
    assert not load.isna().any().any() and not avail.isna().any().any()

    # one value of each file, against the csv row: 2020-02-29 period 18 is 17:00
    t = pd.Timestamp("2020-02-29 17:00", tz="UTC")
    wind = _read_row(root, "DAY_AHEAD_wind.csv", Year="2020", Month="2", Day="29", Period="18")
    col = base_net.sgen.index[base_net.sgen.name == "317_WIND_1"][0]
    assert avail.at[t, col] == pytest.approx(float(wind["317_WIND_1"]))
    area = _read_row(root, "DAY_AHEAD_regional_Load.csv", Year="2020", Month="2", Day="29", Period="18")
    for a in (1, 2, 3):
        assert load.loc[t, base_net.load.area == a].sum() == pytest.approx(float(area[str(a)]))
    bus = {int(r["Bus ID"]): r for r in csv.DictReader(open(root / "bus.csv", newline=""))}
    area2 = sum(float(r["MW Load"]) for r in bus.values() if r["Area"] == "2")
    i = base_net.load.index[base_net.load.bus == 213][0]
    assert load.at[t, i] == pytest.approx(float(area["2"]) * float(bus[213]["MW Load"]) / area2)


def test_series_last_hour_and_apply_hour(root, base_net, day):
    last = load_rts_gmlc_series(root, start="2020-12-31 23:00", hours=1, net=base_net)
    assert last["load_mw"].index[0] == pd.Timestamp("2020-12-31 23:00", tz="UTC")

    net = copy.deepcopy(base_net)
    apply_hour(net, day, HOUR)
    t = pd.Timestamp(HOUR, tz="UTC")
    assert net.load.p_mw.to_numpy() == pytest.approx(day["load_mw"].loc[t].to_numpy())
    assert net.sgen.max_p_mw.to_numpy() == pytest.approx(day["sgen_max_mw"].loc[t].to_numpy())
    assert net.sgen.p_mw.to_numpy() == pytest.approx(day["sgen_max_mw"].loc[t].to_numpy())
    q_per_p = base_net.load.q_mvar / base_net.load.p_mw  # constant power factor kept
    assert (net.load.q_mvar / net.load.p_mw).to_numpy() == pytest.approx(q_per_p.to_numpy())
    apply_hour(net, day, 0)  # by position
    assert net.load.p_mw.to_numpy() == pytest.approx(day["load_mw"].iloc[0].to_numpy())


# ---------------------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------------------


def test_dcopp_converges_and_balances(dispatched):
    net = dispatched
    assert net.OPF_converged
    gen, sgen = net.res_gen.p_mw.sum(), net.res_sgen.p_mw.sum()
    assert gen + sgen == pytest.approx(net.res_load.p_mw.sum(), abs=1e-3)
    assert abs(net.res_ext_grid.p_mw.sum()) < 1e-3  # the reference is no energy source
    assert (net.res_gen.p_mw >= net.gen.min_p_mw - 1e-4).all()
    assert (net.res_gen.p_mw <= net.gen.max_p_mw + 1e-4).all()
    assert (net.res_sgen.p_mw <= net.sgen.max_p_mw + 1e-4).all()


def test_dcopp_dispatch_follows_nodal_prices(dispatched):
    """The KKT form of merit order under congestion: each unit versus the LMP at its bus."""
    net = dispatched
    tol_p, tol_c = 1e-2, 1e-2
    lmp = net.res_bus.lam_p
    g = net.gen.assign(p=net.res_gen.p_mw, lmp=lmp.loc[net.gen.bus].to_numpy())
    inside = (g.p > g.min_p_mw + tol_p) & (g.p < g.max_p_mw - tol_p)
    assert inside.any()  # some unit sets the price
    assert (g.marginal_cost_usd_per_mwh[inside] - g.lmp[inside]).abs().max() < tol_c
    at_max = g.p >= g.max_p_mw - tol_p
    assert (g.marginal_cost_usd_per_mwh[at_max] <= g.lmp[at_max] + tol_c).all()
    at_min = g.p <= g.min_p_mw + tol_p
    assert (g.marginal_cost_usd_per_mwh[at_min] >= g.lmp[at_min] - tol_c).all()
    s = net.sgen.assign(p=net.res_sgen.p_mw, lmp=lmp.loc[net.sgen.bus].to_numpy())
    curtailed = s.p < s.max_p_mw - tol_p
    assert (s.lmp[curtailed] <= tol_c).all()  # renewables are only spilled where energy is worthless
    # oil never runs above its minimum on this afternoon
    assert (g.p[g.fuel == "oil"] <= g.min_p_mw[g.fuel == "oil"] + tol_p).all()


def test_uncongested_merit_order(dispatched):
    """Without line limits one price clears: cheaper units full, dearer ones at minimum."""
    net = copy.deepcopy(dispatched)
    net.line["max_loading_percent"] = 1e5
    net.trafo["max_loading_percent"] = 1e5
    pp.rundcopp(net)
    assert net.OPF_converged
    lmp = net.res_bus.lam_p
    assert lmp.max() - lmp.min() < 1e-3
    price = float(lmp.mean())
    g = net.gen.assign(p=net.res_gen.p_mw)
    mc = g.marginal_cost_usd_per_mwh
    assert mc.min() < price < mc.max()
    assert g.loc[g.fuel == "nuclear", "p"].to_numpy() == pytest.approx(400.0, abs=1e-3)
    assert net.res_sgen.p_mw.to_numpy() == pytest.approx(net.sgen.max_p_mw.to_numpy(), abs=1e-3)
    assert (g.p[mc < price - 1e-2] >= g.max_p_mw[mc < price - 1e-2] - 1e-3).all()
    assert (g.p[mc > price + 1e-2] <= g.min_p_mw[mc > price + 1e-2] + 1e-3).all()
    marginal = g[(g.p > g.min_p_mw + 1e-3) & (g.p < g.max_p_mw - 1e-3)]
    assert len(marginal) >= 1 and set(marginal.fuel) <= {"coal", "gas"}
    assert marginal.marginal_cost_usd_per_mwh.to_numpy() == pytest.approx(price, abs=1e-3)
    # less total cost than the congested dispatch
    assert net.res_cost <= dispatched.res_cost + 1e-6


def test_relaxed_commitment_at_low_load(root):
    net = load_rts_gmlc(root, enforce_pmin=False)
    assert (net.gen.min_p_mw == 0).all() and net.gen.pmin_mw.sum() > 3000
    s = load_rts_gmlc_series(root, start="2020-01-01 03:00", hours=1, net=net)
    apply_hour(net, s, 0)
    assert net.load.p_mw.sum() < net.gen.pmin_mw.sum()  # why the committed fleet cannot serve it
    pp.rundcopp(net)
    assert net.OPF_converged
    supplied = net.res_gen.p_mw.sum() + net.res_sgen.p_mw.sum()
    assert supplied == pytest.approx(net.load.p_mw.sum(), abs=1e-3)


# ---------------------------------------------------------------------------------------
# sub-networks
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("areas", [[1], [3], [2, 3]])
def test_area_subset(root, rows, areas):
    net = load_rts_gmlc(root, areas=areas)
    keep = {int(r["Bus ID"]) for r in rows["bus"] if int(r["Area"]) in areas}
    assert set(net.bus.index) == keep
    inside = [r for r in rows["branch"] if int(r["From Bus"]) in keep and int(r["To Bus"]) in keep]
    assert len(net.line) + len(net.trafo) == len(inside)
    assert set(net.line.from_bus) | set(net.line.to_bus) <= keep
    thermal = [r for r in rows["gen"] if int(r["Bus ID"]) in keep and r["Fuel"] in THERMAL and float(r["PMax MW"]) > 0]
    assert len(net.gen) == len(thermal)
    assert net.gen.max_p_mw.sum() == pytest.approx(sum(float(r["PMax MW"]) for r in thermal))
    assert len(net.ext_grid) == 1 and net.ext_grid.bus.iloc[0] in keep
    if 1 in areas:
        assert net.ext_grid.bus.iloc[0] == 113  # the data's Ref bus
    s = load_rts_gmlc_series(root, start=HOUR, hours=1, net=net)
    assert list(s["area_load_mw"].columns) == areas
    assert s["load_mw"].iloc[0].sum() == pytest.approx(s["area_load_mw"].iloc[0].sum())
    apply_hour(net, s, 0)
    pp.rundcopp(net)
    assert net.OPF_converged
    assert net.res_gen.p_mw.sum() + net.res_sgen.p_mw.sum() == pytest.approx(net.load.p_mw.sum(), abs=1e-3)


def test_area_counts(root):
    assert len(load_rts_gmlc(root, areas={2}).bus) == 24
    assert len(load_rts_gmlc(root.parent if root.name == "rts-gmlc" else root, areas=[1, 3]).bus) == 49


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------


def _mirror(root: Path, tmp: Path) -> Path:
    """tmp/rts-gmlc with symlinks to the real files (a test then replaces one)."""
    target = tmp / "rts-gmlc"
    target.mkdir()
    for path in root.iterdir():
        (target / path.name).symlink_to(path)
    return target


def _rewrite(path: Path, edit) -> None:
    text = path.read_text()
    path.unlink()
    path.write_text(edit(text))


def test_missing_file_names_it(root, tmp_path):
    copy_root = _mirror(root, tmp_path)
    (copy_root / "branch.csv").unlink()
    with pytest.raises(InputError) as err:
        load_rts_gmlc(copy_root)
    assert err.value.source.endswith("branch.csv") and "not found" in str(err.value)

    (copy_root / "DAY_AHEAD_wind.csv").unlink()
    (copy_root / "branch.csv").symlink_to(root / "branch.csv")
    with pytest.raises(InputError) as err:
        load_rts_gmlc_series(copy_root, start=HOUR, hours=1)
    assert err.value.source.endswith("DAY_AHEAD_wind.csv")


def test_missing_folder(tmp_path):
    with pytest.raises(InputError) as err:
        load_rts_gmlc(tmp_path / "nowhere")
    assert "nowhere" in err.value.source


def test_wrong_header(root, tmp_path):
    copy_root = _mirror(root, tmp_path)
    _rewrite(copy_root / "bus.csv", lambda t: t.replace("BaseKV", "Base kV", 1))
    with pytest.raises(InputError) as err:
        load_rts_gmlc(copy_root)
    assert err.value.source.endswith("bus.csv") and err.value.where == "header" and "BaseKV" in err.value.reason

    _rewrite(copy_root / "DAY_AHEAD_regional_Load.csv", lambda t: t.replace("Period", "Hour", 1))
    _rewrite(copy_root / "bus.csv", lambda t: t.replace("Base kV", "BaseKV", 1))
    with pytest.raises(InputError) as err:
        load_rts_gmlc_series(copy_root, start=HOUR, hours=1)
    assert err.value.source.endswith("DAY_AHEAD_regional_Load.csv") and err.value.where == "header"


def test_bad_value_names_row_and_column(root, tmp_path):
    copy_root = _mirror(root, tmp_path)

    def spoil(text):
        lines = text.splitlines(keepends=True)
        header = lines[0].rstrip("\r\n").split(",")
        k = header.index("PMax MW")
        for n, line in enumerate(lines):
            if line.startswith("123_STEAM_3,"):
                fields = line.rstrip("\r\n").split(",")
                fields[k] = "lots"
                lines[n] = ",".join(fields) + "\n"
                return "".join(lines), n + 1
        raise AssertionError("unit not found")

    text, row_number = spoil((root / "gen.csv").read_text())
    (copy_root / "gen.csv").unlink()
    (copy_root / "gen.csv").write_text(text)
    with pytest.raises(InputError) as err:
        load_rts_gmlc(copy_root)
    assert err.value.source.endswith("gen.csv")
    assert err.value.where == f"row {row_number} (123_STEAM_3), column PMax MW"
    assert "'lots'" in err.value.reason


def test_unknown_fuel_is_refused(root, tmp_path):
    copy_root = _mirror(root, tmp_path)
    _rewrite(copy_root / "gen.csv", lambda t: t.replace(",Coal,Coal,", ",Coal,Peat,", 1))
    with pytest.raises(InputError) as err:
        load_rts_gmlc(copy_root)
    assert "column Fuel" in err.value.where and "Peat" in err.value.reason


@pytest.mark.parametrize(
    "start, hours",
    [("2021-01-01 00:00", 1), ("2019-12-31 23:00", 2), ("2020-12-31 23:00", 2), ("2020-12-31 00:00", 25)],
)
def test_hours_outside_2020(root, base_net, start, hours):
    with pytest.raises(InputError) as err:
        load_rts_gmlc_series(root, start=start, hours=hours, net=base_net)
    assert err.value.source.endswith("DAY_AHEAD_regional_Load.csv")
    assert "outside the data" in err.value.reason and "2020-12-31 23:00" in err.value.reason


@pytest.mark.parametrize(
    "kwargs, where",
    [({"start": "2020-07-15 17:30"}, "start"), ({"start": "noon"}, "start"), ({"hours": 0}, "hours")],
)
def test_bad_window_arguments(root, base_net, kwargs, where):
    with pytest.raises(InputError) as err:
        load_rts_gmlc_series(root, net=base_net, **kwargs)
    assert err.value.where == where


def test_bad_areas_and_hour(root, day, base_net):
    for areas in ([4], [], ["x"]):
        with pytest.raises(InputError) as err:
            load_rts_gmlc(root, areas=areas)
        assert err.value.where == "areas"
    net = copy.deepcopy(base_net)
    with pytest.raises(InputError):
        apply_hour(net, day, "2020-07-16 00:00")
    with pytest.raises(InputError):
        apply_hour(net, day, 24)
    with pytest.raises(InputError):
        apply_hour(load_rts_gmlc(root, areas=[1]), day, 0)  # series of another net
