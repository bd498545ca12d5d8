#!/usr/bin/env python3
"""Rebuilds the carbon CSVs of this folder from the public data under ../shared/data.

    python3 src/data/carbon/update.py /work/shared/data

Run by hand when the data changes; the build reads only the CSVs (tools/gen_table.c, kind carbon).
Figures are copied as published; the only arithmetic is none: US state figures stay in lb/MWh
and the build converts them (1 lb = 453.59237 g). Cloud Carbon Footprint's AWS and Azure table
(ccf/) and the EIA hourly series (eia/) are copied unchanged; their names, places and the regions
they serve are kept by hand in cloud_regions.csv and series_areas.csv.
"""
import csv
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ISO1 = "/usr/share/iso-codes/json/iso_3166-1.json"  # Debian package iso-codes (LGPL-2.1+)

# Display names where the files spell a place several ways (every spelling stays a lookup name).
NAME_FIX = {"southamerica-east1": "São Paulo", "europe-west6": "Zürich", "northamerica-northeast1": "Montréal",
            "europe-west5": "(location not published)"}
# Countries of regions that CodeCarbon's impact.csv does not list (from the location Google gives).
# Hong Kong: impact.csv gives CHN; ISO 3166-1 has Hong Kong as HK, and so does the country table.
COUNTRY_FIX = {"asia-east2": "HK", "asia-southeast3": "TH", "europe-north2": "SE", "northamerica-south1": "MX", "us-central2": "US",
               "us-east2": "US", "us-east7": "US", "europe-west5": ""}
# Other names people use for a region's place (the seed writes "North Virginia").
EXTRA_PLACES = {"us-east4": ["North Virginia"], "europe-west4": ["Groningen"], "asia-east1": ["Changhua"]}
# Short names of countries that ISO does not list (they would otherwise find an Azure geography first).
EXTRA_COUNTRY_PLACES = {"GB": ["UK"], "AE": ["UAE"]}


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../../shared/data")
    iso = json.load(open(ISO1, encoding="utf-8"))["3166-1"]
    a3_to_a2 = {c["alpha_3"]: c["alpha_2"] for c in iso}
    iso_by_a3 = {c["alpha_3"]: c for c in iso}

    # ---- Google Cloud, every year ----
    gdir = os.path.join(data, "google-region-carbon-info")
    years = sorted(int(f[:4]) for f in os.listdir(gdir) if f.endswith(".csv"))
    figures, names, order = [], {}, []
    for y in years:
        with open(os.path.join(gdir, f"{y}.csv"), encoding="utf-8") as f:
            rows = list(csv.reader(f))
        head = rows[0]
        assert head[0] == "Google Cloud Region" and "carbon intensity" in head[3], head
        for r in rows[1:]:
            if not r:
                continue
            code, loc, cfe, g = r[0].strip(), r[1].strip(), r[2].strip(), r[3].strip()
            figures.append((code, y, g, cfe, f"google-{y}"))
            names.setdefault(code, [])
            if loc not in names[code] and loc != "N/A":
                names[code].append(loc)
            if code not in order:
                order.append(code)
    impact = {}
    with open(os.path.join(data, "codecarbon/cloud/impact.csv"), encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            if r["provider"] == "gcp":
                code = r["region"].replace("me-cenrtal1", "me-central1")  # a typo in the file
                impact[code] = r
    with open(os.path.join(HERE, "gcp_regions.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("# Google Cloud regions: code, display name, country (ISO 3166-1 alpha-2), other names.\n"
                "# Codes and location names: Google, region-carbon-info yearly files 2019-2025 (every spelling kept\n"
                "# as a lookup name). Countries and city names: CodeCarbon cloud/impact.csv (MIT), commit b05965e4;\n"
                "# regions it lacks take the country of the location Google names. No figures in this file. The seed\n"
                "# study's 23 regions are listed in seed_regions.csv.\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["code", "name", "country", "places"])
        for code in sorted(order):
            spell = names[code]
            name = NAME_FIX.get(code, spell[-1] if spell else code)
            places = [s for s in spell if s != name]
            imp = impact.get(code)
            if imp:
                country = COUNTRY_FIX.get(code) or a3_to_a2[imp["countryIsoCode"]]
                # the city only: a state or country name looks up that grid's own average
                if imp["city"] and imp["city"] not in places and imp["city"] != name:
                    places.append(imp["city"])
            else:
                country = COUNTRY_FIX[code]
            places += [p for p in EXTRA_PLACES.get(code, []) if p not in places]
            w.writerow([code, name, country, ";".join(places)])
    with open(os.path.join(HERE, "gcp_intensity.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("# Google Cloud grid carbon intensity per region and year, gCO2e/kWh, and Google's CFE share\n"
                "# (hourly carbon-free energy, 0..1; empty where not published), copied as published from\n"
                "# GoogleCloudPlatform/region-carbon-info data/yearly/YEAR.csv (also cloud.google.com/sustainability/\n"
                "# region-carbon). 2019 and 2020 are lifecycle intensities, 2021 on location-based grid intensities.\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["code", "year", "g_per_kwh", "cfe", "source"])
        for row in sorted(figures, key=lambda x: (x[0], x[1])):
            w.writerow(row)

    # ---- the seed study's 23 regions, from its table in seed-study.md ----
    seed = []
    for line in open(os.path.join(data, "seed-study.md"), encoding="utf-8"):
        m = re.match(r"\|\s*(\d+)\s*\|\s*([^|]+?)\s*\|\s*([a-z0-9-]+)\s*\|\s*(\d+)\s*\|", line)
        if m:
            seed.append(m.groups())
    assert len(seed) == 23, len(seed)
    with open(os.path.join(HERE, "seed_regions.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("# The seed study's 23 regions, exactly and in its order: the seed's own name for each, its Google\n"
                "# Cloud region code, and the figure the seed printed (gCO2/kWh, Google Cloud's 2021 figures). From\n"
                "# the study's table as ../shared/data/seed-study.md gives it (facts, the source named). The build\n"
                "# checks that each code is a Google region whose 2021 figure is the one given here, and flags these\n"
                "# regions, and no others, as the seed's; the seed's names become lookup names (\"North Virginia\").\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["order", "name", "code", "g_per_kwh_2021"])
        for row in seed:
            w.writerow(row)

    # ---- countries ----
    mix = json.load(open(os.path.join(data, "codecarbon/private_infra/global_energy_mix.json"), encoding="utf-8"))
    with open(os.path.join(HERE, "countries.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("# Country yearly average carbon intensity of electricity generation, gCO2e/kWh, with the year of\n"
                "# each figure, as published in CodeCarbon's private_infra/global_energy_mix.json (MIT, commit\n"
                "# b05965e4), whose figures come from Ember and Our World in Data. Codes and ISO names: Debian\n"
                "# iso-codes (ISO 3166-1). places: other names (CodeCarbon's name, ISO official and common names).\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["alpha2", "alpha3", "name", "places", "year", "g_per_kwh", "source"])
        for a3 in sorted(mix):
            v = mix[a3]
            c = iso_by_a3[a3]
            name = v["country_name"]
            places = []
            for p in (c.get("common_name"), c["name"], c.get("official_name")) + tuple(EXTRA_COUNTRY_PLACES.get(c["alpha_2"], [])):
                if p and p != name and p not in places:
                    places.append(p)
            w.writerow([c["alpha_2"], a3, name, ";".join(places), v["year"], v["carbon_intensity"], "codecarbon-mix"])

    # ---- US states ----
    us = json.load(open(os.path.join(data, "codecarbon/private_infra/2016/usa_emissions.json"), encoding="utf-8"))
    assert us["_unit"]["emissions"] == "lbs/MWh"
    with open(os.path.join(HERE, "us_states.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("# US states (ISO 3166-2 codes): CO2 emission rate of electricity in lb/MWh, 2016, as published in\n"
                "# CodeCarbon's private_infra/2016/usa_emissions.json (MIT, commit b05965e4; unit given there as\n"
                "# lbs/MWh). The build converts to gCO2/kWh: x 453.59237 / 1000.\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["code", "name", "year", "lb_per_mwh", "source"])
        for key in sorted(us, key=lambda k: us[k]["regionCode"]):
            v = us[key]
            rc = v["regionCode"]
            if key == "_unit" or rc == "usa":
                continue
            w.writerow([f"US-{rc}", key.title().replace(" Of ", " of "), 2016, v["emissions"], "codecarbon-usa-2016"])

    # ---- copied unchanged: AWS and Azure factors, hourly series (VA is the PJM file again: kept once) ----
    shutil.copyfile(os.path.join(data, "cloud-carbon-footprint/cloud-region-factors.csv"),
                    os.path.join(HERE, "ccf/cloud-region-factors.csv"))
    eia = os.path.join(data, "eia-hourly-intensity")
    assert open(os.path.join(eia, "VA-2022.csv"), "rb").read() == open(os.path.join(eia, "PJM-2022.csv"), "rb").read()
    for area in ("BPAT", "CISO", "ERCO", "MISO", "PJM"):
        shutil.copyfile(os.path.join(eia, f"{area}-2022.csv"), os.path.join(HERE, f"eia/{area}-2022.csv"))


if __name__ == "__main__":
    main()
