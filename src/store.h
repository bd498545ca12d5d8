/*
 * The results store: benchmark runs (struct jp_bench_run, bench/bench.h) kept in one SQLite file
 * (default "jouleprint.db") so that runs can be listed, rendered again and compared over time.
 *
 *     jp_store *db;
 *     if (jp_store_open(&db, "jouleprint.db", JP_STORE_CREATE) != JP_OK) { ... jp_last_error() ... }
 *     jp_store_save(db, &run);                    run.id is now the run's number in the store
 *     struct jp_bench_run again;
 *     jp_store_load(db, JP_STORE_LATEST, &again); the same run, field by field
 *     jp_bench_run_clear(&again);
 *     jp_store_close(db);
 *
 * Every error message names the store's path ("results.db: no run 7; the store holds runs 1-5").
 *
 * Schema (version 1). A table schema_version lists the migrations applied; jp_store_open applies the
 * missing ones in order, each in its own transaction, and refuses a store written by a newer
 * jouleprint. Tables: runs (one row per run, with the machine, sources, estimated flag, region,
 * intensity, PUE, projection volume, baseline), tasks, models (every measured and analysed figure of
 * a model, and again the machine, sources and estimated flag so that models can be compared across
 * runs with one query), phases, metrics, and timelines (one row per model with samples: t and watts
 * as BLOBs of little-endian IEEE 754 doubles). NaN figures are stored as NULL. A run is saved in one
 * transaction: a crash or an error leaves the store as it was before the save.
 */
#ifndef JP_STORE_H
#define JP_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/bench.h"

typedef struct jp_store jp_store;

/* The schema version this build writes and reads. */
#define JP_STORE_SCHEMA_VERSION 1

/* jp_store_open flags */
#define JP_STORE_CREATE 1u   /* create the file if it does not exist (else: JP_ERR_NOTFOUND) */
#define JP_STORE_READONLY 2u /* read only: never writes (no schema into an empty file, no journal) */

/* Opens (and with JP_STORE_CREATE creates) the store at path, bringing its schema up to date.
 * Errors name the path: JP_ERR_NOTFOUND (no such file, without JP_STORE_CREATE), JP_ERR_PARSE (not
 * a SQLite file, not a jouleprint store, or a newer schema), JP_ERR_IO, JP_ERR_PERM. */
int jp_store_open(jp_store **out, const char *path, unsigned flags);
/* Closes the store (NULL is allowed). */
void jp_store_close(jp_store *db);
/* The path the store was opened with. */
const char *jp_store_path(const jp_store *db);

/* Saves run as a new run of the store, in one transaction, and sets run->id to its number (ids only
 * grow; a run saved twice is stored twice). The run is saved as given: analyse it first
 * (jp_bench_analyze) so that the stored savings, front and ratings are those the user saw. */
int jp_store_save(jp_store *db, struct jp_bench_run *run);

/* Loads run id (JP_STORE_LATEST: the run with the highest id) into *run, which is overwritten
 * without being freed (clear a previously loaded run with jp_bench_run_clear first); the caller
 * frees the result with jp_bench_run_clear. On failure *run is left zeroed: JP_ERR_NOTFOUND when
 * there is no such run (the message says which runs there are). A damaged timeline is left out and
 * said so in run->warnings (one line each). */
#define JP_STORE_LATEST 0L
int jp_store_load(jp_store *db, long id, struct jp_bench_run *run);

/* One line of the list of runs. */
struct jp_store_entry {
    long id;
    char started_at[32];
    char finished_at[32];
    char status[16];        /* "complete", "interrupted" */
    char spec_path[1024];
    char machine[256];
    char sources[256];
    bool estimated;
    char region[64];
    size_t ntasks;
    size_t nmodels;         /* over all tasks */
    size_t nfailed;         /* models whose status is not "ok" */
    char tasks[256];        /* the task names, comma-separated (cut with "..." when long) */
    char picks[256];        /* per task "task: pick" (or "task: -"), "; "-separated */
};

/* All runs, newest (highest id) first, in a malloc'd array the caller frees; *n their number
 * (0 and *out NULL for an empty store). */
int jp_store_list(jp_store *db, struct jp_store_entry **out, size_t *n);

/* Deletes run id and everything it owns, in one transaction. JP_ERR_NOTFOUND if there is none. */
int jp_store_delete(jp_store *db, long id);

#endif
