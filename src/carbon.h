/*
 * The carbon tables compiled into the library. tools/gen_table.c (kind carbon) writes them at build
 * time from the CSV files of src/data/carbon/; src/carbon.c looks things up in them.
 */
#ifndef JP_CARBON_H
#define JP_CARBON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum jp_zone_kind {
    JP_ZONE_GCP = 0,      /* a Google Cloud region: id "gcp:us-west1" */
    JP_ZONE_COUNTRY = 1,  /* a country: id its ISO 3166-1 alpha-2 code, "FR" */
    JP_ZONE_US_STATE = 2, /* a US state: id its ISO 3166-2 code, "US-OR" */
    JP_ZONE_AWS = 3,      /* an AWS region: id "aws:us-east-1" */
    JP_ZONE_AZURE = 4     /* an Azure region: id "azure:westeurope" */
};

/* One published figure. */
struct jp_carbon_figure {
    int year;
    double g_per_kwh; /* gCO2e/kWh */
    double cfe;       /* the provider's carbon-free energy share, 0..1; negative: not published */
    int source;       /* index of its source: jp_carbon_source_text(source) */
};

/* No pointers in the tables below: each string is an offset into one string of all of them,
 * jp_carbon_strings (each NUL-terminated, equal strings stored once), read with the accessors
 * further down. So the ~2,600 strings of the tables need no relocation, and no copy-on-write page
 * of .data.rel.ro, each time a process loads the library (as jp_cpu_tdp_names, source/cpu_table.h). */

/* A place with one or more yearly figures. */
struct jp_carbon_zone {
    int kind;             /* enum jp_zone_kind */
    uint32_t id_off;      /* jp_carbon_zone_id(): "gcp:us-west1", "FR", "US-OR" */
    uint32_t code_off;    /* jp_carbon_zone_code(): "us-west1", "FR", "US-OR" */
    uint32_t code3_off;   /* jp_carbon_zone_code3(): ISO alpha-3 for countries ("FRA"), else "" */
    uint32_t name_off;    /* jp_carbon_zone_name(): "Oregon", "France"; for AWS and Azure the location
                             ("N. Virginia") */
    uint32_t country_off; /* jp_carbon_zone_country(): ISO alpha-2 of the country it lies in, "" if not known */
    uint32_t places_off;  /* jp_carbon_zone_places(): other names, ';'-separated: older spellings, cities, AWS
                             and Azure display names */
    int seed;             /* one of the seed study's 23 regions: its place in the seed's table, 1..23; 0: not */
    int first, count;     /* its figures: jp_carbon_figures[first .. first+count), years ascending */
};

/* A provider's published PUE. */
struct jp_carbon_pue {
    uint32_t provider_off; /* jp_carbon_pue_provider(): "gcp", "aws", "azure" */
    int year;
    double pue;
    int source;
};

/* An hourly intensity series built in for plan (series_areas.csv): values[first .. first+count) of
 * jp_carbon_series_values, one an hour from start; a negative value is a gap in the source. */
struct jp_carbon_series {
    uint32_t area_off;   /* jp_carbon_series_area(): "PJM" */
    uint32_t name_off;   /* jp_carbon_series_name(): "PJM Interconnection (with Virginia)" */
    uint32_t places_off; /* jp_carbon_series_places(): other names, ';'-separated: "VA;Virginia" */
    uint32_t serves_off; /* jp_carbon_series_serves(): the built-in regions it serves, ';'-separated ids:
                            "aws:us-east-1;azure:eastus" */
    int source;          /* index of its source: jp_carbon_source_text(source) */
    double start, step;  /* Unix seconds of the first value; seconds between values */
    int first, count;
};

extern const char jp_carbon_strings[];
extern const uint32_t jp_carbon_source_offs[]; /* into jp_carbon_strings: use jp_carbon_source_text() */
extern const size_t jp_carbon_source_count;
extern const struct jp_carbon_zone jp_carbon_zones[];
extern const size_t jp_carbon_zone_count;
extern const struct jp_carbon_figure jp_carbon_figures[];
extern const size_t jp_carbon_figure_count;
extern const struct jp_carbon_pue jp_carbon_pues[];
extern const size_t jp_carbon_pue_count;
extern const double jp_carbon_series_values[];
extern const struct jp_carbon_series jp_carbon_series[];
extern const size_t jp_carbon_series_count;

/* The text of source i (i < jp_carbon_source_count): "Google Cloud region-carbon-info 2019 (lifecycle grid
 * intensity)" */
static inline const char *jp_carbon_source_text(size_t i)
{
    return jp_carbon_strings + jp_carbon_source_offs[i];
}

/* The strings of a zone, a PUE, a series (see their fields). */
static inline const char *jp_carbon_zone_id(const struct jp_carbon_zone *z)
{
    return jp_carbon_strings + z->id_off;
}
static inline const char *jp_carbon_zone_code(const struct jp_carbon_zone *z)
{
    return jp_carbon_strings + z->code_off;
}
static inline const char *jp_carbon_zone_code3(const struct jp_carbon_zone *z)
{
    return jp_carbon_strings + z->code3_off;
}
static inline const char *jp_carbon_zone_name(const struct jp_carbon_zone *z)
{
    return jp_carbon_strings + z->name_off;
}
static inline const char *jp_carbon_zone_country(const struct jp_carbon_zone *z)
{
    return jp_carbon_strings + z->country_off;
}
static inline const char *jp_carbon_zone_places(const struct jp_carbon_zone *z)
{
    return jp_carbon_strings + z->places_off;
}
static inline const char *jp_carbon_pue_provider(const struct jp_carbon_pue *p)
{
    return jp_carbon_strings + p->provider_off;
}
static inline const char *jp_carbon_series_area(const struct jp_carbon_series *c)
{
    return jp_carbon_strings + c->area_off;
}
static inline const char *jp_carbon_series_name(const struct jp_carbon_series *c)
{
    return jp_carbon_strings + c->name_off;
}
static inline const char *jp_carbon_series_places(const struct jp_carbon_series *c)
{
    return jp_carbon_strings + c->places_off;
}
static inline const char *jp_carbon_series_serves(const struct jp_carbon_series *c)
{
    return jp_carbon_strings + c->serves_off;
}

/* Helpers shared by carbon.c and carbon_series.c. */
/* Opens a user's CSV (an intensity file or series) to read without ever blocking: anything but a regular
 * file (a FIFO, /dev/zero, a folder) is refused at once, and so is a file over 1 GiB. JP_OK and *out, or an
 * error naming the path and what it is. */
int jp_carbon_open_csv(const char *path, FILE **out);
/* A name folded for comparison: lower-case ASCII, accents removed, separators as single spaces. */
void jp_carbon_norm(const char *in, char *out, size_t len);

#endif
