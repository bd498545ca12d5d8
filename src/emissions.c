/*
 * CodeCarbon-compatible emissions.csv (see include/jouleprint.h for the columns, their units and
 * where their names and order come from). One writer for the CLI (`stat --emissions-csv`) and the
 * Python binding.
 *
 * A row is appended by rewriting: under an exclusive flock on the file, its bytes and the new row
 * are written to a temporary file in the same folder, flushed, and renamed over it. Readers see the
 * old file or the new one, never half a row, whatever happens to the writer; a second writer waits
 * for the lock and, finding the file replaced meanwhile, takes the lock on the new one.
 */
#define _GNU_SOURCE /* getrandom, flock */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "carbon.h"
#include "util.h"

/* CodeCarbon's columns, then ours (prefixed jp_). */
static const char header[] =
    "timestamp,project_name,run_id,duration,emissions,emissions_rate,cpu_power,gpu_power,ram_power,cpu_energy,"
    "gpu_energy,ram_energy,energy_consumed,country_name,country_iso_code,region,cloud_provider,cloud_region,os,"
    "python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,ram_total_size,"
    "tracking_mode,on_cloud,pue,"
    "jp_estimated,jp_sources,jp_energy_j,jp_intensity_g_per_kwh,jp_intensity_source,jp_region,jp_phases,jp_version";

/* The largest file rewritten (a row is about 600 bytes: over 100,000 runs). */
#define MAX_FILE_BYTES (64L * 1024 * 1024)
/* How long to wait for another writer's lock. */
#define LOCK_WAIT_S 10.0

const char *jp_emissions_csv_header(void) { return header; }

void jp_emissions_meta_init(jp_emissions_meta *meta)
{
    if (!meta) return;
    memset(meta, 0, sizeof *meta);
    meta->pue = 1.0;
}

/* ---- fields -------------------------------------------------------------------------------------- */

/* A text field: quoted when it holds a comma or a quote (quotes doubled); line breaks and other
 * control characters become spaces, so that every row stays one line. */
static void put_text(FILE *f, const char *s)
{
    if (!s) s = "";
    bool quote = strpbrk(s, ",\"") != NULL;
    if (quote) fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"') fputs("\"\"", f);
        else if (*p < 0x20 || *p == 0x7f) fputc(' ', f);
        else fputc(*p, f);
    }
    if (quote) fputc('"', f);
}

/* A number in its shortest form that reads back to the same double (as Python's repr writes it);
 * empty where it is not finite. */
static void put_num(FILE *f, double v)
{
    if (!isfinite(v)) return;
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, f);
}

static void put_sep(FILE *f) { fputc(',', f); }

/* A name for the list columns: ';' and ':' (their separators) become '_'. */
static void put_list_name(FILE *f, const char *s)
{
    for (; *s; s++) fputc(*s == ';' || *s == ':' || *s == ',' || *s == '"' ? '_' : *s, f);
}

static void make_uuid(char *out, size_t len)
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            break;
        }
        got += (size_t)n;
    }
    if (got < sizeof b) { /* no getrandom: time and pid, still unique enough for a run id */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40);
        for (size_t i = 0; i < sizeof b; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b[i] = (unsigned char)x;
        }
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static const struct jp_carbon_zone *country_zone(const char *alpha2)
{
    if (!alpha2 || !*alpha2) return NULL;
    for (size_t i = 0; i < jp_carbon_zone_count; i++)
        if (jp_carbon_zones[i].kind == JP_ZONE_COUNTRY && !strcmp(jp_carbon_zone_id(&jp_carbon_zones[i]), alpha2))
            return &jp_carbon_zones[i];
    return NULL;
}

/* ---- the row ------------------------------------------------------------------------------------- */

static int format_row(FILE *f, const jp_meter *m, const jp_emissions_meta *meta, const jp_intensity *ci,
                      const char *run_id)
{
    double dur = jp_meter_duration(m);
    double cpu_j = 0, gpu_j = 0, ram_j = 0;
    int gpus = 0;
    size_t nd = jp_meter_domain_count(m);
    for (size_t i = 0; i < nd; i++) {
        jp_domain_kind k = jp_meter_domain_kind(m, i);
        if (k == JP_DOMAIN_GPU) gpus++;
        if (!jp_meter_domain_in_total(m, i)) continue;
        double j = jp_meter_joules(m, (int)i);
        switch (k) {
        case JP_DOMAIN_GPU: gpu_j += j; break;
        case JP_DOMAIN_DRAM:
        case JP_DOMAIN_RAM_MODEL: ram_j += j; break;
        default: cpu_j += j; break; /* package, psys on its own, cpu-model */
        }
    }
    double total_j = jp_meter_joules(m, JP_TOTAL);
    double pue = meta->pue;
    double grams = jp_carbon_grams(total_j, ci->g_per_kwh, pue);
    double kg = grams / 1000.0;

    /* timestamp: local time at the end of the run, as CodeCarbon writes it */
    char ts[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm)) strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    put_text(f, ts), put_sep(f);
    put_text(f, meta->project_name && *meta->project_name ? meta->project_name : "jouleprint"), put_sep(f);
    put_text(f, run_id), put_sep(f);
    put_num(f, dur), put_sep(f);
    put_num(f, kg), put_sep(f);
    put_num(f, dur > 0 ? kg / dur : 0.0), put_sep(f);
    put_num(f, dur > 0 ? cpu_j / dur : 0.0), put_sep(f);
    put_num(f, dur > 0 ? gpu_j / dur : 0.0), put_sep(f);
    put_num(f, dur > 0 ? ram_j / dur : 0.0), put_sep(f);
    put_num(f, cpu_j / 3.6e6), put_sep(f);
    put_num(f, gpu_j / 3.6e6), put_sep(f);
    put_num(f, ram_j / 3.6e6), put_sep(f);
    put_num(f, total_j / 3.6e6), put_sep(f);

    /* where: country, region, cloud */
    const struct jp_carbon_zone *cz = country_zone(ci->country);
    /* a cloud region: gcp, aws or azure, its id "provider:code" */
    bool cloud = !strcmp(ci->provider, "gcp") || !strcmp(ci->provider, "aws") || !strcmp(ci->provider, "azure");
    const char *colon = strchr(ci->region, ':');
    put_text(f, cz ? jp_carbon_zone_name(cz) : ""), put_sep(f);
    put_text(f, cz ? jp_carbon_zone_code3(cz) : ""), put_sep(f);
    if (!strcmp(ci->provider, "country") || !strcmp(ci->provider, "world")) put_text(f, "");
    else put_text(f, cloud || !strcmp(ci->provider, "us-state") ? ci->name : ci->region);
    put_sep(f);
    put_text(f, cloud ? ci->provider : ""), put_sep(f);
    put_text(f, cloud && colon ? colon + 1 : ""), put_sep(f);

    /* the machine */
    struct utsname u;
    char os[400] = "";
    if (uname(&u) == 0) jp_textf(os, sizeof os, "%s-%s-%s", u.sysname, u.release, u.machine);
    put_text(f, os), put_sep(f);
    put_text(f, meta->python_version ? meta->python_version : ""), put_sep(f);
    put_sep(f); /* codecarbon_version: this is not CodeCarbon */
    jp_host_info info;
    bool have_info = jp_host_read(&info) == JP_OK;
    jp_clear_error();
    if (have_info && info.logical_cpus > 0) fprintf(f, "%d", info.logical_cpus);
    else fprintf(f, "%ld", sysconf(_SC_NPROCESSORS_ONLN));
    put_sep(f);
    put_text(f, have_info ? info.brand : ""), put_sep(f);
    fprintf(f, "%d", gpus), put_sep(f);
    put_sep(f); /* gpu_model: not known to the meter */
    put_sep(f); /* longitude */
    put_sep(f); /* latitude */
    if (have_info && info.mem_gb > 0) put_num(f, info.mem_gb * 1e9 / (1024.0 * 1024.0 * 1024.0));
    put_sep(f);
    put_text(f, "machine"), put_sep(f);
    put_text(f, cloud ? "Y" : "N"), put_sep(f);
    put_num(f, pue), put_sep(f);

    /* jouleprint's columns */
    put_text(f, jp_meter_estimated(m) ? "true" : "false"), put_sep(f);
    for (size_t i = 0; i < nd; i++) {
        if (i) fputc(';', f);
        put_list_name(f, jp_meter_domain_name(m, i));
        fputc(':', f);
        put_list_name(f, jp_meter_domain_source(m, i));
    }
    put_sep(f);
    put_num(f, total_j), put_sep(f);
    put_num(f, ci->g_per_kwh), put_sep(f);
    put_text(f, ci->source), put_sep(f);
    put_text(f, ci->region), put_sep(f);
    for (size_t p = 0; p < jp_meter_phase_count(m); p++) {
        if (p) fputc(';', f);
        put_list_name(f, jp_meter_phase_name(m, p));
        fputc(':', f);
        put_num(f, jp_meter_phase_joules(m, p, JP_TOTAL));
    }
    put_sep(f);
    put_text(f, JP_VERSION);
    fputc('\n', f);
    return JP_OK;
}

/* ---- appending ----------------------------------------------------------------------------------- */

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Opens and locks path; makes sure the lock is on the file that path names now (another writer may
 * have renamed a new file into place while this one waited). */
static int open_locked(const char *path, int *fd_out, struct stat *st_out)
{
    double deadline = jp_now() + LOCK_WAIT_S;
    for (;;) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return jp_fail(errno == EACCES || errno == EPERM ? JP_ERR_PERM : JP_ERR_IO, "%s: cannot open: %s", path,
                           strerror(errno));
        while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK && errno != EINTR) {
                int e = errno;
                close(fd);
                return jp_fail(JP_ERR_IO, "%s: cannot lock: %s", path, strerror(e));
            }
            if (jp_now() > deadline) {
                close(fd);
                return jp_fail(JP_ERR_IO, "%s: another writer has held its lock for %.0f s", path, LOCK_WAIT_S);
            }
            jp_sleep_until(jp_now() + 0.005);
        }
        struct stat a, b;
        if (fstat(fd, &a) != 0 || stat(path, &b) != 0) {
            int e = errno;
            close(fd);
            if (e == ENOENT) continue; /* renamed away under us: open again */
            return jp_fail(JP_ERR_IO, "%s: %s", path, strerror(e));
        }
        if (a.st_ino != b.st_ino || a.st_dev != b.st_dev) { /* replaced meanwhile */
            close(fd);
            continue;
        }
        if (!S_ISREG(a.st_mode)) {
            close(fd);
            return jp_fail(JP_ERR_INVAL, "%s: not a regular file", path);
        }
        *fd_out = fd;
        *st_out = a;
        return JP_OK;
    }
}

/* Reads the whole (locked) file. */
static int read_whole(int fd, const char *path, off_t size, char **out)
{
    if (size > MAX_FILE_BYTES)
        return jp_fail(JP_ERR_RANGE, "%s: %lld bytes, more than the %ld MiB this writer rewrites: start a new file",
                       path, (long long)size, MAX_FILE_BYTES / (1024 * 1024));
    char *buf = malloc((size_t)size + 1);
    if (!buf) return jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
    size_t got = 0;
    while (got < (size_t)size) {
        ssize_t n = pread(fd, buf + got, (size_t)size - got, (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            free(buf);
            return jp_fail(JP_ERR_IO, "%s: cannot read: %s", path, n < 0 ? strerror(e) : "file shrank while read");
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    return JP_OK;
}

/* The existing content must be empty, or start with our header line and end with a newline. */
static int check_existing(const char *path, const char *text, size_t len)
{
    if (len == 0) return JP_OK;
    size_t hl = strlen(header);
    if (memchr(text, '\0', len))
        return jp_fail(JP_ERR_PARSE, "%s: holds NUL bytes: not a CSV file; give another file", path);
    const char *nl = memchr(text, '\n', len);
    size_t first = nl ? (size_t)(nl - text) : len;
    if (first && text[first - 1] == '\r') first--;
    if (first != hl || memcmp(text, header, hl) != 0) {
        const char *cc = "timestamp,project_name,run_id,";
        bool codecarbon = len >= strlen(cc) && !strncmp(text, cc, strlen(cc));
        return jp_fail(JP_ERR_PARSE,
                       "%s:1: %s: expected jouleprint's header (CodeCarbon's 31 columns, then jp_estimated ... "
                       "jp_version); give another file",
                       path,
                       codecarbon ? "a CodeCarbon header without jouleprint's columns (or from another version)"
                                  : "not an emissions.csv header");
    }
    if (text[len - 1] != '\n')
        return jp_fail(JP_ERR_PARSE, "%s: the last line is unfinished (no newline at the end): not appended to", path);
    return JP_OK;
}

int jp_emissions_csv_append(const char *path, const jp_meter *m, const jp_emissions_meta *meta_in, char *run_id_out,
                            size_t run_id_len)
{
    jp_clear_error();
    if (!path || !*path || !m) return jp_fail(JP_ERR_INVAL, "jp_emissions_csv_append: a path and a meter are needed");
    if (jp_meter_phase_count(m) == 0 || !(jp_meter_duration(m) > 0))
        return jp_fail(JP_ERR_STATE, "%s: the meter holds no finished measurement (call after jp_meter_stop)", path);
    jp_emissions_meta meta;
    if (meta_in) meta = *meta_in;
    else jp_emissions_meta_init(&meta);
    if (!(meta.pue >= 1.0 && meta.pue <= 3.0)) return jp_fail(JP_ERR_RANGE, "PUE %g: expected 1.0 to 3.0", meta.pue);
    jp_intensity world;
    const jp_intensity *ci = meta.intensity;
    if (!ci) {
        int rc = jp_intensity_lookup("world", &world);
        if (rc != JP_OK) return rc;
        ci = &world;
    }
    char run_id[64];
    if (meta.run_id && *meta.run_id) {
        if (strlen(meta.run_id) >= sizeof run_id)
            return jp_fail(JP_ERR_RANGE, "run id \"%.40s...\": longer than %zu bytes", meta.run_id, sizeof run_id - 1);
        jp_strlcpy(run_id, meta.run_id, sizeof run_id);
    } else {
        make_uuid(run_id, sizeof run_id);
    }

    /* the row first, so that nothing is touched if it cannot be made */
    char *row = NULL;
    size_t row_len = 0;
    FILE *mf = open_memstream(&row, &row_len);
    if (!mf) return jp_fail(JP_ERR_NOMEM, "out of memory");
    format_row(mf, m, &meta, ci, run_id);
    if (fclose(mf) != 0 || !row) {
        free(row);
        return jp_fail(JP_ERR_NOMEM, "out of memory");
    }

    /* a symlink is followed: its target is what gets replaced */
    char target[PATH_MAX];
    struct stat lst;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        if (!realpath(path, target)) {
            int e = errno;
            free(row);
            return jp_fail(JP_ERR_IO, "%s: cannot follow the link: %s", path, strerror(e));
        }
    } else if (jp_pathf(target, sizeof target, "%s", path) != JP_OK) {
        free(row);
        return JP_ERR_RANGE;
    }

    int fd = -1;
    struct stat st;
    memset(&st, 0, sizeof st);
    int rc = open_locked(target, &fd, &st);
    if (rc != JP_OK) {
        free(row);
        return rc;
    }
    char *old = NULL;
    rc = read_whole(fd, target, st.st_size, &old);
    if (rc == JP_OK) rc = check_existing(target, old, (size_t)st.st_size);

    char tmp[PATH_MAX + 16];
    int tfd = -1;
    if (rc == JP_OK) {
        char dir[PATH_MAX];
        jp_strlcpy(dir, target, sizeof dir);
        char *slash = strrchr(dir, '/');
        const char *base = target;
        if (slash) {
            *slash = '\0';
            base = slash + 1;
            if (!dir[0]) jp_strlcpy(dir, "/", sizeof dir);
        } else {
            jp_strlcpy(dir, ".", sizeof dir);
        }
        if (jp_pathf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, base) != JP_OK) rc = JP_ERR_RANGE;
        else if ((tfd = mkstemp(tmp)) < 0)
            rc = jp_fail(JP_ERR_IO, "%s: cannot create a temporary file beside it: %s", target, strerror(errno));
    }
    if (rc == JP_OK) {
        bool fail = false;
        if (st.st_size > 0) fail = write_all(tfd, old, (size_t)st.st_size) != 0;
        else fail = write_all(tfd, header, strlen(header)) != 0 || write_all(tfd, "\n", 1) != 0;
        if (!fail) fail = write_all(tfd, row, row_len) != 0;
        if (!fail) {
            if (fchmod(tfd, st.st_mode & 07777) != 0) fail = true;
            int ign = fchown(tfd, st.st_uid, st.st_gid); /* may not be ours to give: the writer's then */
            (void)ign;
        }
        if (!fail) fail = fsync(tfd) != 0;
        int e = errno;
        if (close(tfd) != 0 && !fail) {
            fail = true;
            e = errno;
        }
        if (!fail && rename(tmp, target) != 0) {
            fail = true;
            e = errno;
        }
        if (fail) {
            unlink(tmp);
            rc = jp_fail(JP_ERR_IO, "%s: cannot write the new row: %s (the file is unchanged)",
                         target, strerror(e));
        }
    }
    close(fd); /* releases the lock */
    free(old);
    free(row);
    if (rc == JP_OK && run_id_out && run_id_len) jp_strlcpy(run_id_out, run_id, run_id_len);
    return rc;
}
