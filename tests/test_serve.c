/*
 * jouleprint serve over fake trees (powercap, /proc/stat, a cgroup v2 tree under
 * JP_SYSFS_ROOT/fs/cgroup): the figures it publishes (exact joules, wraps, the cgroup split by CPU
 * time), both exposition formats (promtool lints the text one), the cgroup labels, top-N and churn,
 * and every fault the issue names: a bad web config, a port in use, a counter that vanishes, a cgroup
 * gone between two reads, a slow client; TLS and basic auth through curl.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>

#include <cmocka.h>

#include "cgroup.h"
#include "fake_tree.h"
#include "jouleprint/exporter.h"
#include "serve_fixture.h"


/* The text exposition, fetched afresh (fails the test unless 200). */
static char *scrape(int port)
{
    char *resp;
    const char *body;
    int st = sf_get(port, "/metrics", NULL, &resp, &body);
    if (st != 200) fail_msg("GET /metrics: status %d: %.300s", st, resp);
    char *copy = strdup(body);
    free(resp);
    return copy;
}

static double metric_now(int port, const char *prefix)
{
    char *b = scrape(port);
    double v = sf_metric(b, prefix);
    free(b);
    return v;
}

/* Waits until the sample counter passes n more samples. */
static void wait_samples(int port, double n)
{
    double s0 = metric_now(port, "jouleprint_samples_total");
    double deadline = sf_now() + 30;
    while (metric_now(port, "jouleprint_samples_total") < s0 + n) {
        if (sf_now() > deadline) fail_msg("the exporter took no %g samples in 30 s", n);
        usleep(20000);
    }
}

/* Waits until prefix's value differs from old; returns the new value. */
static double wait_change(int port, const char *prefix, double old)
{
    double deadline = sf_now() + 30;
    for (;;) {
        double v = metric_now(port, prefix);
        if (v != old) return v;
        if (sf_now() > deadline) fail_msg("%s stayed at %g for 30 s", prefix, old);
        usleep(20000);
    }
}

#define PKG "jouleprint_energy_joules_total{domain=\"package-0\",source=\"rapl-powercap\",kind=\"package\",method=\"measured\"}"
#define DRAM "jouleprint_energy_joules_total{domain=\"dram-0\",source=\"rapl-powercap\",kind=\"dram\",method=\"measured\"}"
#define NODE "jouleprint_node_energy_joules_total{method=\"measured\"}"
#define CG(path, slice, unit) \
    "jouleprint_cgroup_energy_joules_total{cgroup=\"" path "\",slice=\"" slice "\",unit=\"" unit "\",pod_uid=\"\",container_id=\"\"}"
#define CG_BUSY CG("/" SF_BUSY_CG, "system.slice", "busy.service")
#define CG_IDLE CG("/" SF_IDLE_CG, "system.slice", "idle.service")
#define CG_OTHER CG("other", "", "")

static void assert_rel(double got, double want, double rel, const char *what)
{
    if (!(fabs(got - want) <= rel * fabs(want)))
        fail_msg("%s: got %.6g, expected %.6g within %.1f%%", what, got, want, rel * 100);
}

/* ---- the figures ----------------------------------------------------------------------------------- */

/* A sample that reads the fake files while a step is being written pairs one interval's energy with
 * another's CPU time (no real machine's counters move in steps of a whole second's work, so the split
 * is exact only when each step is read whole). Whether that happened is not guessed from the clock: the
 * exporter's reads of the files are seen through inotify, in order with the step's own writes. */
static int reads_watch(const struct sf_fake *f)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    assert_true(fd >= 0);
    const char *dirs[] = {"proc", "sys/class/powercap/intel-rapl:0", "sys/class/powercap/intel-rapl:0:0",
                          "sys/fs/cgroup/" SF_BUSY_CG, "sys/fs/cgroup/" SF_IDLE_CG, "sys/fs/cgroup/" SF_POD_CG};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", f->root, dirs[i]);
        if (inotify_add_watch(fd, path, IN_OPEN | IN_ACCESS | IN_MOVED_TO) < 0) fail_msg("inotify %s: %s", path, strerror(errno));
    }
    return fd;
}

/* Reads the queued events; returns true when one of the exporter's reads of a file came before the
 * last file the step moved into place (the events are queued in the order they happened). */
static bool read_during_step(int fd)
{
    char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool seen = false, torn = false;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            /* opened or read, except the step's own temporary files (ft_write renames them in) */
            bool own = ev->len && strstr(ev->name, ".tmp");
            if ((ev->mask & (IN_OPEN | IN_ACCESS)) && !(ev->mask & IN_ISDIR) && !own) seen = true;
            if ((ev->mask & IN_MOVED_TO) && seen) torn = true; /* a file of the step, after a read */
            p += sizeof *ev + ev->len;
        }
    }
    return torn;
}

static void drain(int fd)
{
    char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (read(fd, buf, sizeof buf) > 0) continue;
}

static void test_figures_and_cgroup_split(void **state)
{
    (void)state;
    struct sf_fake f;
    struct sf_server s;
    /* The fake machine moves in steps of its own time, each written just after a sample was
     * published, a whole sampling interval (1 s) before the next one reads. On a busy machine the
     * test can still be held up until the next sample reads, halfway through a step: that attempt
     * is seen (reads_watch) and made again from the start, at most 5 times. */
    const char *args[] = {"--interval", "1s", "--region", "FR", NULL};
    int attempt = 0;
    for (;;) {
        attempt++;
        sf_fake_make(&f);
        int wfd = reads_watch(&f);
        if (sf_start(&s, f.root, args) != 0) fail_msg("serve did not start: %s", sf_slurp(s.log));
        wait_samples(s.port, 1);
        bool torn = false;
        for (int k = 0; k < 8 && !torn; k++) {
            wait_samples(s.port, 1);
            drain(wfd);
            sf_fake_step(&f, 0.125); /* 20 W x 0.125 s = 2.5 J; 8 CPUs x 0.125 s = 100 jiffies */
            torn = read_during_step(wfd);
        }
        close(wfd);
        if (!torn) break;
        print_message("attempt %d: a sample read the files while a step was being written; again\n", attempt);
        assert_int_equal(sf_stop(&s), 0);
        sf_fake_free(&f);
        if (attempt == 5) fail_msg("5 attempts, each with a step read halfway through");
    }
    wait_samples(s.port, 2); /* everything written is now read */
    char *b = scrape(s.port);

    /* promtool, Prometheus' own linter, finds nothing wrong with the text format */
    char lint[4200];
    snprintf(lint, sizeof lint, "%s/lint.txt", f.root);
    FILE *lf = fopen(lint, "w");
    assert_non_null(lf);
    fputs(b, lf);
    fclose(lf);
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s' > '%s.out' 2>&1", lint, lint);
    int lrc = system(cmd);
    if (lrc != 0) fail_msg("promtool check metrics: %s", sf_slurp(strcat(lint, ".out")));

    double pkg = sf_metric(b, PKG), dram = sf_metric(b, DRAM), node = sf_metric(b, NODE);
    double busy = sf_metric(b, CG_BUSY), idle = sf_metric(b, CG_IDLE), other = sf_metric(b, CG_OTHER);
    print_message("package %.4f J, dram %.4f J, node %.4f J, busy.service %.4f J, idle.service %.4f J, other %.4f J\n", pkg,
                  dram, node, busy, idle, other);
    /* eight steps of 2.5 J and 0.625 J, exactly */
    assert_rel(pkg, 20.0, 1e-6, "package");
    assert_rel(dram, 5.0, 1e-6, "dram");
    /* the node's total is package + dram, each joule once */
    assert_rel(node, pkg + dram, 1e-9, "node = package + dram");
    /* package : dram as 20 W : 5 W (both read at the same samples) */
    assert_rel(pkg / dram, 4.0, 1e-6, "package/dram");
    /* the split by CPU time: busy.service 6 and idle.service 0.5 of 8 CPUs busy */
    assert_rel(busy / node, 6.0 / 8.0, 1e-3, "busy.service's share of the energy");
    assert_rel(idle / node, 0.5 / 8.0, 1e-3, "idle.service's share of the energy");
    assert_rel(busy / idle, 12.0, 1e-3, "busy/idle");
    assert_true(other == 0); /* 3 cgroups, top 20: every one has its own series */
    /* the pod's container, with its labels parsed from the path */
    assert_non_null(strstr(b, "pod_uid=\"0a1b2c3d-0000-1111-2222-333344445555\",container_id=\"4f5e6d7c8b9a4f5e6d7c8b9a"
                              "4f5e6d7c8b9a4f5e6d7c8b9a4f5e6d7c8b9a0011\""));
    /* carbon at France's figure */
    double g_per_j = sf_metric(b, "jouleprint_grid_intensity_grams_per_joule");
    assert_true(g_per_j > 0 && g_per_j < 200 / 3.6e6);
    assert_rel(sf_metric(b, "jouleprint_carbon_grams_total"), node * g_per_j, 1e-9, "carbon = energy x intensity");
    assert_non_null(strstr(b, "jouleprint_carbon_region_info{region=\"FR\""));
    assert_non_null(strstr(b, "jouleprint_source_info{source=\"rapl-powercap\",method=\"measured\"} 1"));
    free(b);

    /* exact joules: with the writer stopped, step the counters by known amounts */
    double p0 = metric_now(s.port, PKG), d0 = metric_now(s.port, DRAM);
    double wraps0 = metric_now(s.port, "jouleprint_wraps_total");
    f.pkg_j += 50;
    sf_write_energy(&f, "intel-rapl:0", f.pkg_j, SF_PKG_RANGE_UJ);
    assert_rel(wait_change(s.port, PKG, p0) - p0, 50.0, 1e-9, "package +50 J");
    /* dram wraps at 60 J: three steps of 20 J go round it once */
    double d = d0;
    for (int i = 0; i < 3; i++) {
        usleep(300000);
        f.dram_j += 20;
        sf_write_energy(&f, "intel-rapl:0:0", f.dram_j, SF_DRAM_RANGE_UJ);
        d = wait_change(s.port, DRAM, d);
    }
    assert_rel(d - d0, 60.0, 1e-9, "dram +60 J across a wrap");
    assert_true(metric_now(s.port, "jouleprint_wraps_total") >= wraps0 + 1);
    assert_true(metric_now(s.port, "jouleprint_sampling_errors_total") == 0);
    /* the package counter restarts from near zero (a driver reload): the exporter's counter does not
     * go back; the reset is counted as a sampling error */
    double p1 = metric_now(s.port, PKG);
    usleep(300000);
    f.pkg_j = 0.25;
    sf_write_energy(&f, "intel-rapl:0", f.pkg_j, SF_PKG_RANGE_UJ);
    wait_change(s.port, "jouleprint_sampling_errors_total", 0);
    wait_samples(s.port, 2);
    /* the value before the step is read before the step is written: read after it, a sample taken
     * in between (a test thread held up on a busy machine) made it the new value, waited for in vain */
    double before = metric_now(s.port, PKG);
    f.pkg_j += 7;
    sf_write_energy(&f, "intel-rapl:0", f.pkg_j, SF_PKG_RANGE_UJ);
    double p2 = wait_change(s.port, PKG, before);
    assert_true(p2 >= p1 + 7 - 1e-9);

    assert_int_equal(sf_stop(&s), 0);
    sf_fake_free(&f);
}

/* ---- HTTP ------------------------------------------------------------------------------------------ */

static void test_http_surface(void **state)
{
    (void)state;
    struct sf_fake f;
    sf_fake_make(&f);
    struct sf_server s;
    const char *args[] = {"--interval", "200ms", NULL};
    if (sf_start(&s, f.root, args) != 0) fail_msg("serve did not start: %s", sf_slurp(s.log));
    char *resp;
    const char *body;
    /* what Prometheus sends: OpenMetrics */
    const char *prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                       "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_int_equal(sf_get(s.port, "/metrics", prom, &resp, &body), 200);
    assert_non_null(strstr(resp, "Content-Type: application/openmetrics-text; version=1.0.0"));
    assert_non_null(strstr(body, "# TYPE jouleprint_energy_joules counter\n# UNIT jouleprint_energy_joules joules\n"));
    assert_non_null(strstr(body, "# TYPE jouleprint_build info\n"));
    size_t bl = strlen(body);
    assert_true(bl > 6 && !strcmp(body + bl - 6, "# EOF\n"));
    free(resp);
    assert_int_equal(sf_get(s.port, "/metrics", "text/plain", &resp, &body), 200);
    assert_non_null(strstr(resp, "Content-Type: text/plain; version=0.0.4"));
    assert_null(strstr(body, "# EOF"));
    free(resp);
    assert_int_equal(sf_get(s.port, "/", NULL, &resp, &body), 200);
    assert_non_null(strstr(body, "href=\"metrics\""));
    free(resp);
    assert_int_equal(sf_get(s.port, "/other", NULL, &resp, &body), 404);
    free(resp);
    assert_int_equal(sf_raw(s.port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", 10, &resp), 405);
    assert_non_null(strstr(resp, "Allow: GET, HEAD"));
    free(resp);
    assert_int_equal(sf_raw(s.port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 10, &resp), 200);
    assert_null(strstr(resp, "jouleprint_"));
    free(resp);
    /* a request larger than the server takes (16 KiB of headers) is refused, and the next is served */
    char *big = malloc(40000);
    assert_non_null(big);
    int n = snprintf(big, 40000, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + n, 'a', 30000);
    strcpy(big + n + 30000, "\r\nConnection: close\r\n\r\n");
    int st = sf_raw(s.port, big, 10, &resp);
    assert_true(st != 200);
    free(resp);
    free(big);
    assert_int_equal(sf_get(s.port, "/metrics", NULL, &resp, &body), 200);
    free(resp);
    /* requests are counted by status in the health metrics (as of the next sample) */
    wait_samples(s.port, 2);
    char *b = scrape(s.port);
    assert_true(sf_metric(b, "jouleprint_http_requests_total{code=\"404\"}") >= 1);
    assert_true(sf_metric(b, "jouleprint_http_requests_total{code=\"405\"}") >= 1);
    assert_true(sf_metric(b, "jouleprint_scrape_duration_seconds_count") >= 3);
    free(b);
    assert_int_equal(sf_stop(&s), 0);
    sf_fake_free(&f);
}

/* ---- faults ---------------------------------------------------------------------------------------- */

static void test_faults(void **state)
{
    (void)state;
    struct sf_fake f;
    sf_fake_make(&f);
    sf_fake_run(&f);
    struct sf_server s;
    /* one HTTP thread: what keeps other scrapes going is non-blocking I/O, not a spare thread */
    const char *args[] = {"--interval", "100ms", "--client-timeout", "6s", "--threads", "1", NULL};
    if (sf_start(&s, f.root, args) != 0) fail_msg("serve did not start: %s", sf_slurp(s.log));
    wait_samples(s.port, 3);

    /* a slow client holds a connection open with half a request for 6 s: meanwhile scrapes are
     * answered, each within 3 s (were they held up by it, they would get nothing for 6 s) */
    int slow = sf_connect(s.port, 20);
    assert_true(slow >= 0);
    assert_true(send(slow, "GET /metr", 9, MSG_NOSIGNAL) == 9);
    for (int i = 0; i < 5; i++) {
        char *resp;
        int st = sf_raw(s.port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3.0, &resp);
        if (st != 200) fail_msg("scrape %d while a client stalls: status %d", i, st);
        assert_non_null(strstr(resp, NODE));
        free(resp);
    }
    /* ... and is closed after the idle timeout, said in one line */
    char c;
    assert_int_equal(recv(slow, &c, 1, 0), 0);
    close(slow);
    assert_true(sf_wait_log(&s, "without a complete request (a slow or stalled client", 15));

    /* the dram zone vanishes mid-run: one line, domain_up 0, its energy kept, package still counted */
    double dram_before = metric_now(s.port, DRAM);
    sf_fake_pause(&f);
    ft_remove(f.root, "sys/class/powercap/intel-rapl:0:0");
    f.dram_gone = true;
    sf_fake_run(&f);
    assert_true(sf_wait_log(&s, "dram-0 (rapl-powercap): the counter vanished", 10));
    double p = metric_now(s.port, PKG);
    wait_change(s.port, PKG, p);
    char *b = scrape(s.port);
    assert_true(sf_metric(b, "jouleprint_domain_up{domain=\"dram-0\",source=\"rapl-powercap\"}") == 0);
    assert_true(sf_metric(b, "jouleprint_domain_up{domain=\"package-0\",source=\"rapl-powercap\"}") == 1);
    assert_true(sf_metric(b, DRAM) >= dram_before);
    free(b);

    /* a cgroup listed but gone before its cpu.stat could be read: one line, counted, others attributed */
    ft_mkdirs(f.root, "sys/fs/cgroup/system.slice/ghost.service");
    assert_true(sf_wait_log(&s, "cgroup /system.slice/ghost.service vanished between listing and reading", 10));
    wait_samples(s.port, 5);
    b = scrape(s.port);
    assert_true(sf_metric(b, "jouleprint_cgroup_read_errors_total{reason=\"vanished\"}") >= 5);
    double busy = sf_metric(b, CG_BUSY);
    free(b);
    wait_change(s.port, CG_BUSY, busy);
    /* a cpu.stat that is a FIFO (a hostile tree): refused without waiting, said once, sampling goes on */
    ft_mkdirs(f.root, "sys/fs/cgroup/system.slice/fifo.service");
    char fifo[4200];
    snprintf(fifo, sizeof fifo, "%s/sys/fs/cgroup/system.slice/fifo.service/cpu.stat", f.root);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_true(sf_wait_log(&s, "fifo.service: cannot read cpu.stat", 10));
    wait_samples(s.port, 3);
    /* a whole cgroup removed: its series goes, nothing breaks */
    sf_fake_pause(&f);
    f.idle_gone = true;
    ft_remove(f.root, "sys/fs/cgroup/" SF_IDLE_CG);
    sf_fake_run(&f);
    wait_samples(s.port, 3);
    b = scrape(s.port);
    assert_true(isnan(sf_metric(b, CG_IDLE)));
    free(b);

    assert_int_equal(sf_stop(&s), 0);
    /* each fault was said once (the repeats are held back for a minute) */
    char *log = sf_slurp(s.log);
    assert_int_equal(sf_count(log, "the counter vanished"), 1);
    assert_int_equal(sf_count(log, "vanished between listing and reading"), 1);
    assert_int_equal(sf_count(log, "slow or stalled client"), 1);
    free(log);
    sf_fake_free(&f);
}

/* Connections are bounded: past --max-connections a new one waits in the listen queue, unanswered,
 * until an idle one times out (2 s here), and is served then. One HTTP thread, so that the limit is
 * exact (libmicrohttpd shares it out among its threads). */
static void test_connection_limit(void **state)
{
    (void)state;
    struct sf_fake f;
    sf_fake_make(&f);
    struct sf_server s;
    const char *args[] = {"--interval", "200ms", "--max-connections", "3", "--threads", "1", "--client-timeout", "2s", NULL};
    if (sf_start(&s, f.root, args) != 0) fail_msg("serve did not start: %s", sf_slurp(s.log));
    int idle[3];
    for (int i = 0; i < 3; i++) assert_true((idle[i] = sf_connect(s.port, 20)) >= 0);
    usleep(300000);
    char *resp;
    const char *body;
    /* not answered within 1 s: no slot can free before the 2 s idle timeout */
    assert_int_equal(sf_raw(s.port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1.0, &resp), 0);
    free(resp);
    double deadline = sf_now() + 20;
    int st = 0;
    while (st != 200 && sf_now() < deadline) {
        st = sf_get(s.port, "/metrics", NULL, &resp, &body);
        free(resp);
        if (st != 200) usleep(200000);
    }
    assert_int_equal(st, 200);
    for (int i = 0; i < 3; i++) close(idle[i]);
    assert_int_equal(sf_stop(&s), 0);
    sf_fake_free(&f);
}

static void test_bad_web_config_and_port_in_use(void **state)
{
    (void)state;
    struct sf_fake f;
    sf_fake_make(&f);
    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"tls_server_config:\n  cert_file: nope.crt\n", "web.yml:2: tls_server_config needs both cert_file and key_file"},
        {"tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n", "web.yml:2: cert_file"},
        {"basic_auth_users:\n  alice: plain-text\n", "web.yml:2: basic_auth_users.alice: expected a bcrypt hash"},
        {"tls_server_config:\n  client_ca_file: ca.crt\n", "web.yml:2: tls_server_config.client_ca_file is not supported"},
        {"listen: 1\n", "web.yml:1: unknown key \"listen\""},
        {"basic_auth_users: [a\n", "web.yml:2: not valid YAML"},
        {NULL, "web.yml: not a regular file"}, /* a FIFO: refused at once, not waited on */
    };
    char path[4200], out[4200];
    snprintf(path, sizeof path, "%s/web.yml", f.root);
    snprintf(out, sizeof out, "%s/err.txt", f.root);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ft_remove(f.root, "web.yml");
        if (cases[i].yaml) ft_write(f.root, "web.yml", "%s", cases[i].yaml);
        else assert_int_equal(mkfifo(path, 0600), 0);
        const char *args[] = {"serve", "--listen", "127.0.0.1:0", "--web-config", path, NULL};
        int rc = ft_run_cli(NULL, out, args);
        char *err = sf_slurp(out);
        if (rc != 2 || !strstr(err, cases[i].expect) || sf_count(err, "\n") != 1)
            fail_msg("case %zu: exit %d, stderr: %s (expected exit 2 and one line with \"%s\")", i, rc, err, cases[i].expect);
        free(err);
    }
    /* a port in use: one line naming it, exit 1 */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
    char listen_at[64];
    snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", ntohs(a.sin_port));
    const char *args[] = {"serve", "--listen", listen_at, NULL};
    int rc = ft_run_cli(NULL, out, args);
    char *err = sf_slurp(out);
    if (rc != 1 || !strstr(err, "Address already in use") || sf_count(err, "\n") != 1)
        fail_msg("port in use: exit %d, stderr: %s", rc, err);
    free(err);
    close(fd);
    sf_fake_free(&f);
}

/* ---- TLS and basic auth ---------------------------------------------------------------------------- */

static void test_tls_and_basic_auth(void **state)
{
    (void)state;
    struct sf_fake f;
    sf_fake_make(&f);
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout tls.key -out tls.crt >openssl.log 2>&1",
             f.root);
    assert_int_equal(system(cmd), 0);
    /* the hash comes from jouleprint itself */
    char in[4200], hashf[4200];
    snprintf(in, sizeof in, "%s/pw.txt", f.root);
    snprintf(hashf, sizeof hashf, "%s/hash.txt", f.root);
    ft_write(f.root, "pw.txt", "s3cret pass\n");
    snprintf(cmd, sizeof cmd, "'%s' serve --hash-password --bcrypt-cost 5 < '%s' > '%s'", getenv("JP_CLI"), in, hashf);
    assert_int_equal(system(cmd), 0);
    char *hash = sf_slurp(hashf);
    hash[strcspn(hash, "\n")] = '\0';
    assert_int_equal(strlen(hash), 60);
    assert_true(!strncmp(hash, "$2b$05$", 7));
    ft_write(f.root, "web.yml",
             "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  min_version: TLS12\n"
             "http_server_config:\n  headers:\n    X-Test: yes\n"
             "basic_auth_users:\n  alice: '%s'\n",
             hash);
    free(hash);
    char web[4200];
    snprintf(web, sizeof web, "%s/web.yml", f.root);
    struct sf_server s;
    const char *args[] = {"--web-config", web, "--interval", "200ms", NULL};
    if (sf_start(&s, f.root, args) != 0) fail_msg("serve with TLS did not start: %s", sf_slurp(s.log));
    assert_true(sf_wait_log(&s, "listening on https://127.0.0.1:", 1));
    assert_true(sf_wait_log(&s, "TLS on, basic auth on", 1));
    struct {
        const char *user, *scheme;
        int expect;
    } tries[] = {{"alice:s3cret pass", "https", 200}, {"alice:wrong", "https", 401}, {"bob:s3cret pass", "https", 401},
                 {NULL, "https", 401},                 {"alice:s3cret pass", "http", 0}};
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        char body[4200], user[128] = "";
        snprintf(body, sizeof body, "%s/body.txt", f.root);
        if (tries[i].user) snprintf(user, sizeof user, "-u '%s'", tries[i].user);
        snprintf(cmd, sizeof cmd,
                 "curl -s -m 10 --cacert '%s/tls.crt' %s -o '%s' -D '%s.h' -w '%%{http_code}' %s://127.0.0.1:%d/metrics "
                 "> '%s.code'",
                 f.root, user, body, body, tries[i].scheme, s.port, body);
        int rc = system(cmd);
        (void)rc;
        char codef[4300];
        snprintf(codef, sizeof codef, "%s.code", body);
        char *code = sf_slurp(codef);
        int got = atoi(code);
        free(code);
        if (got != tries[i].expect) fail_msg("try %zu (%s, %s): HTTP %d, expected %d", i, tries[i].scheme,
                                             tries[i].user ? tries[i].user : "no user", got, tries[i].expect);
        if (got == 200) {
            char *b = sf_slurp(body);
            assert_non_null(strstr(b, "jouleprint_node_energy_joules"));
            free(b);
            char hf[4300];
            snprintf(hf, sizeof hf, "%s.h", body);
            char *h = sf_slurp(hf);
            assert_non_null(strstr(h, "X-Test: yes"));
            free(h);
        }
    }
    assert_int_equal(sf_stop(&s), 0);
    sf_fake_free(&f);
}

/* ---- cgroups, in the library --------------------------------------------------------------------- */

static void test_cgroup_labels(void **state)
{
    (void)state;
    char slice[128], unit[128], pod[40], ctr[72];
    struct {
        const char *path, *slice, *unit, *pod, *ctr;
    } cases[] = {
        {"/system.slice/sshd.service", "system.slice", "sshd.service", "", ""},
        {"/user.slice/user-1000.slice/session-3.scope", "user-1000.slice", "session-3.scope", "", ""},
        {"/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope", "system.slice",
         "docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope", "",
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
        {"/kubepods/burstable/pod0a1b2c3d-0000-1111-2222-333344445555/"
         "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
         "", "", "0a1b2c3d-0000-1111-2222-333344445555", "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"},
        {"/kubepods.slice/kubepods-pod0A1B2C3D_0000_1111_2222_333344445555.slice/crio-abcdef012345.scope",
         "kubepods-pod0A1B2C3D_0000_1111_2222_333344445555.slice", "crio-abcdef012345.scope",
         "0a1b2c3d-0000-1111-2222-333344445555", "abcdef012345"},
        {"/machine.slice/libpod-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.scope", "machine.slice",
         "libpod-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.scope", "",
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
        {"/podman/not-a-pod", "", "", "", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jp_cg_labels(cases[i].path, slice, sizeof slice, unit, sizeof unit, pod, sizeof pod, ctr, sizeof ctr);
        assert_string_equal(slice, cases[i].slice);
        assert_string_equal(unit, cases[i].unit);
        assert_string_equal(pod, cases[i].pod);
        assert_string_equal(ctr, cases[i].ctr);
    }
}

/* 30 cgroups with powers 1..30 (by CPU time), top 5: five series and "other", every joule in
 * exactly one of them; then churn: containers made and removed, and the tracked set stays bounded. */
static void test_cgroup_top_n_and_churn(void **state)
{
    (void)state;
    char *root = ft_mkroot("cgroups");
    ft_write(root, "cgroup.controllers", "cpu\n");
    char rel[256];
    for (int i = 1; i <= 30; i++) {
        snprintf(rel, sizeof rel, "work.slice/w%02d.service/cpu.stat", i);
        ft_write(root, rel, "usage_usec 0\n");
    }
    jp_roots roots;
    assert_int_equal(jp_roots_from_env(&roots), JP_OK);
    char croot[4096];
    assert_int_equal(jp_cg_root(&roots, root, croot, sizeof croot), JP_OK);
    struct jp_cg cg;
    assert_int_equal(jp_cg_init(&cg, croot, 5), JP_OK);
    jp_cg_scan(&cg);
    jp_cg_attribute(&cg, 0, 0, 1.0);
    double total = 0;
    for (int step = 1; step <= 20; step++) {
        for (int i = 1; i <= 30; i++) {
            snprintf(rel, sizeof rel, "work.slice/w%02d.service/cpu.stat", i);
            ft_write(root, rel, "usage_usec %d\n", step * i * 1000);
        }
        uint64_t sum = jp_cg_scan(&cg);
        assert_int_equal(sum, 465 * 1000); /* 1+...+30 ms of CPU */
        jp_cg_attribute(&cg, 93.0, 465 * 1000 * 2, 1.0); /* the cgroups had half the busy time */
        total += 93.0;
    }
    assert_int_equal(cg.n, 30);
    size_t members = 0;
    double series = cg.other_j;
    for (size_t i = 0; i < cg.n; i++) {
        if (cg.units[i]->member) {
            members++;
            /* the members are the five busiest */
            assert_true(strcmp(cg.units[i]->path, "/work.slice/w26.service") >= 0);
        }
        series += cg.units[i]->series_j;
    }
    assert_int_equal(members, 5);
    assert_rel(series, cg.attributed_j, 1e-12, "series + other = all attributed");
    assert_rel(cg.attributed_j, total / 2, 1e-12, "half the energy attributed");

    /* churn: 40 containers made and 40 removed at each scan, 50 times */
    for (int round = 0; round < 50; round++) {
        for (int k = 0; k < 40; k++) {
            snprintf(rel, sizeof rel, "system.slice/docker-%060d%04d.scope/cpu.stat", round, k);
            ft_write(root, rel, "usage_usec 1000\n");
            if (round > 0) {
                snprintf(rel, sizeof rel, "system.slice/docker-%060d%04d.scope", round - 1, k);
                ft_remove(root, rel);
            }
        }
        jp_cg_scan(&cg);
        jp_cg_attribute(&cg, 10.0, 0, 1.0);
        assert_int_equal(cg.n, 70); /* 30 services + the 40 containers alive now */
    }
    assert_true(cg.cap <= 128 && cg.caps <= 128); /* the lists did not grow with the churn */
    assert_int_equal(cg.ev.vanished, 0);
    jp_cg_free(&cg);
    ft_rmroot(root);
}

/* The default root: <JP_SYSFS_ROOT>/fs/cgroup, or its unified/ on systemd's hybrid layout; a v1-only
 * tree is refused with a line that says why. */
static void test_cgroup_root(void **state)
{
    (void)state;
    char *root = ft_mkroot("cgroot");
    ft_mkdirs(root, "fs/cgroup/cpu");
    setenv("JP_SYSFS_ROOT", root, 1);
    unsetenv("JP_CGROUP_ROOT");
    jp_roots roots;
    assert_int_equal(jp_roots_from_env(&roots), JP_OK);
    char buf[4096], want[4200];
    assert_int_equal(jp_cg_root(&roots, NULL, buf, sizeof buf), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "is not a cgroup v2 (unified) tree"));
    ft_write(root, "fs/cgroup/unified/cgroup.controllers", "\n");
    assert_int_equal(jp_cg_root(&roots, NULL, buf, sizeof buf), JP_OK);
    snprintf(want, sizeof want, "%s/fs/cgroup/unified", root);
    assert_string_equal(buf, want);
    ft_write(root, "fs/cgroup/cgroup.controllers", "cpu\n");
    assert_int_equal(jp_cg_root(&roots, NULL, buf, sizeof buf), JP_OK);
    snprintf(want, sizeof want, "%s/fs/cgroup", root);
    assert_string_equal(buf, want);
    unsetenv("JP_SYSFS_ROOT");
    ft_rmroot(root);
}

static void test_negotiation(void **state)
{
    (void)state;
    assert_int_equal(jp_exposition_negotiate(NULL), JP_EXPOSITION_TEXT);
    assert_int_equal(jp_exposition_negotiate("text/plain;version=0.0.4"), JP_EXPOSITION_TEXT);
    assert_int_equal(jp_exposition_negotiate("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
                     JP_EXPOSITION_OPENMETRICS);
    assert_int_equal(jp_exposition_negotiate("application/openmetrics-text;q=0.2,text/plain;q=0.9"), JP_EXPOSITION_TEXT);
    assert_int_equal(jp_exposition_negotiate("application/openmetrics-text;q=0"), JP_EXPOSITION_TEXT);
    assert_int_equal(jp_exposition_negotiate("*/*"), JP_EXPOSITION_TEXT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negotiation),
        cmocka_unit_test(test_cgroup_labels),
        cmocka_unit_test(test_cgroup_root),
        cmocka_unit_test(test_cgroup_top_n_and_churn),
        cmocka_unit_test(test_bad_web_config_and_port_in_use),
        cmocka_unit_test(test_http_surface),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_figures_and_cgroup_split),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_tls_and_basic_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
