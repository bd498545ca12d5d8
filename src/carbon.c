/*
 * Carbon accounting: energy x grid intensity x PUE = grams of CO2e.
 *
 * The world average: 480.6 gCO2e/kWh, the generation-weighted mean of the 213 countries in
 * CodeCarbon's global_energy_mix.json (Our World in Data / Ember figures, mostly 2022, some
 * 2021 and 2023; MIT licence; ../shared/data/codecarbon), computed as
 * sum(carbon_intensity x total_TWh) / sum(total_TWh) over 29,476 TWh.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define WORLD_G_PER_KWH 480.6
#define WORLD_SOURCE "world average (generation-weighted mean of 213 countries, Ember/OWID 2022 via CodeCarbon)"

int jp_intensity_lookup(const char *region, jp_intensity *out)
{
    const char *from_env = NULL;
    if (!region || !*region) {
        from_env = getenv("JP_REGION");
        region = from_env && *from_env ? from_env : "world";
    }
    if (strcasecmp(region, "world") == 0) {
        jp_strlcpy(out->region, "world", sizeof out->region);
        out->g_per_kwh = WORLD_G_PER_KWH;
        jp_strlcpy(out->source, WORLD_SOURCE, sizeof out->source);
        return JP_OK;
    }
    return jp_fail(JP_ERR_NOTFOUND, "%sregion \"%s\": unknown; known regions: world",
                   from_env ? "JP_REGION: " : "", region);
}

double jp_carbon_grams(double joules, double g_per_kwh, double pue)
{
    return joules / 3.6e6 * g_per_kwh * pue;
}
