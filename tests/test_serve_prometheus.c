/*
 * A real Prometheus (Debian's prometheus package, /usr/bin/prometheus or $JP_PROMETHEUS) scrapes
 * `jouleprint serve` every second, on loopback, over the fake machine of serve_fixture.h (package
 * 20 W, dram 5 W; busy.service 6 CPUs and idle.service 0.5 CPU of 8 CPUs busy). Then its HTTP
 * API is asked: the energy counters' rates per second of sample time equal the fake powers within 5%, and the two
 * cgroups' rates split the node's by their CPU-time shares. Prometheus scrapes OpenMetrics (its
 * Accept header asks for it first), so this also proves that format parses. Prometheus runs with
 * a temporary data folder and is stopped after; the whole test is bounded (about 40 s, 150 s at
 * most on a loaded machine).
 */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "serve_fixture.h"

struct prom {
    pid_t pid;
    int port;
    char log[4200];
};

static int prom_start(struct prom *p, const char *dir, int target_port)
{
    const char *bin = getenv("JP_PROMETHEUS");
    if (!bin || !*bin) bin = "/usr/bin/prometheus";
    if (access(bin, X_OK) != 0) fail_msg("%s: not installed (scripts/bootstrap installs Debian's prometheus)", bin);
    ft_write(dir, "prometheus.yml",
             "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1m\n"
             "scrape_configs:\n  - job_name: jouleprint\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n",
             target_port);
    for (int attempt = 0; attempt < 5; attempt++) {
        p->port = sf_free_port();
        snprintf(p->log, sizeof p->log, "%s/prometheus.log", dir);
        char cfg[4200], data[4200], listen[64];
        snprintf(cfg, sizeof cfg, "--config.file=%s/prometheus.yml", dir);
        snprintf(data, sizeof data, "--storage.tsdb.path=%s/data", dir);
        snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", p->port);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            int nul = open("/dev/null", O_RDWR);
            if (fd < 0 || nul < 0) _exit(125);
            dup2(nul, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            execl(bin, bin, cfg, data, listen, "--log.level=warn", "--storage.tsdb.retention.time=1h", (char *)NULL);
            _exit(126);
        }
        p->pid = pid;
        double deadline = sf_now() + 90;
        while (sf_now() < deadline) {
            char *resp;
            const char *body;
            int st = sf_get(p->port, "/-/ready", NULL, &resp, &body);
            free(resp);
            if (st == 200) return 0;
            int ws;
            if (waitpid(pid, &ws, WNOHANG) == pid) break; /* exited: the port was taken after all? */
            usleep(100000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    p->pid = 0;
    return -1;
}

static void prom_stop(struct prom *p)
{
    if (p->pid <= 0) return;
    kill(p->pid, SIGTERM);
    double deadline = sf_now() + 30;
    int st;
    while (waitpid(p->pid, &st, WNOHANG) == 0) {
        if (sf_now() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            break;
        }
        usleep(50000);
    }
    p->pid = 0;
}

/* An instant query through the HTTP API: the first result's value, or NAN (with why). */
static double query(const struct prom *p, const char *promql, char *why, size_t len)
{
    char enc[2048], path[2200];
    size_t o = 0;
    for (const unsigned char *s = (const unsigned char *)promql; *s && o + 4 < sizeof enc; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("-_.~", *s))
            enc[o++] = (char)*s;
        else o += (size_t)snprintf(enc + o, sizeof enc - o, "%%%02X", *s);
    }
    enc[o] = '\0';
    snprintf(path, sizeof path, "/api/v1/query?query=%s", enc);
    char *resp;
    const char *body;
    int st = sf_get(p->port, path, NULL, &resp, &body);
    double v = NAN;
    json_error_t je;
    json_t *j = st == 200 ? json_loads(body, 0, &je) : NULL;
    json_t *res = j ? json_object_get(json_object_get(j, "data"), "result") : NULL;
    if (res && json_array_size(res) > 0) {
        const char *s = json_string_value(json_array_get(json_object_get(json_array_get(res, 0), "value"), 1));
        if (s) v = strtod(s, NULL);
    }
    if (isnan(v)) snprintf(why, len, "HTTP %d: %.400s", st, body);
    json_decref(j);
    free(resp);
    return v;
}

static double must_query(const struct prom *p, const char *promql)
{
    char why[512];
    double v = query(p, promql, why, sizeof why);
    if (isnan(v)) fail_msg("query %s: %s", promql, why);
    return v;
}

/* Every query of the Grafana dashboard (deploy/grafana/jouleprint.json), its variables filled in,
 * is valid PromQL that Prometheus answers with success. */
static void check_dashboard(const struct prom *p)
{
    const char *src = getenv("JP_TEST_SRC_DIR");
    if (!src) fail_msg("JP_TEST_SRC_DIR is not set: run the tests under ctest");
    char path[4096];
    snprintf(path, sizeof path, "%s/deploy/grafana/jouleprint.json", src);
    json_error_t je;
    json_t *d = json_load_file(path, 0, &je);
    if (!d) fail_msg("%s:%d: %s", path, je.line, je.text);
    size_t i, k, n = 0;
    json_t *panel, *target;
    json_array_foreach(json_object_get(d, "panels"), i, panel) {
        json_array_foreach(json_object_get(panel, "targets"), k, target) {
            const char *e = json_string_value(json_object_get(target, "expr"));
            assert_non_null(e);
            char q[2048];
            size_t o = 0;
            for (const char *c = e; *c && o + 8 < sizeof q;) {
                if (!strncmp(c, "$instance", 9)) {
                    o += (size_t)snprintf(q + o, sizeof q - o, ".*");
                    c += 9;
                } else if (!strncmp(c, "$__range", 8)) {
                    o += (size_t)snprintf(q + o, sizeof q - o, "1m");
                    c += 8;
                } else {
                    q[o++] = *c++;
                }
            }
            q[o] = '\0';
            char enc[4096], url[4200];
            size_t eo = 0;
            for (const unsigned char *c = (const unsigned char *)q; *c && eo + 4 < sizeof enc; c++) {
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')) enc[eo++] = (char)*c;
                else eo += (size_t)snprintf(enc + eo, sizeof enc - eo, "%%%02X", *c);
            }
            enc[eo] = '\0';
            snprintf(url, sizeof url, "/api/v1/query?query=%s", enc);
            char *resp;
            const char *body;
            int st = sf_get(p->port, url, NULL, &resp, &body);
            if (st != 200 || !strstr(body, "\"status\":\"success\""))
                fail_msg("dashboard query %s: HTTP %d %.300s", q, st, body);
            free(resp);
            n++;
        }
    }
    json_decref(d);
    print_message("%zu dashboard queries answered\n", n);
    assert_true(n >= 10);
}

static void near(double got, double want, double rel, const char *what)
{
    print_message("%-44s %10.4f (expected %.4f, within %.0f%%)\n", what, got, want, rel * 100);
    if (!(fabs(got - want) <= rel * want)) fail_msg("%s: got %.4f, expected %.4f within %.0f%%", what, got, want, rel * 100);
}

static void test_prometheus_scrapes_jouleprint(void **state)
{
    (void)state;
    struct sf_fake f;
    sf_fake_make(&f);
    sf_fake_run(&f);
    struct sf_server s;
    const char *args[] = {"--interval", "100ms", NULL};
    if (sf_start(&s, f.root, args) != 0) fail_msg("serve did not start: %s", sf_slurp(s.log));
    struct prom p;
    memset(&p, 0, sizeof p);
    if (prom_start(&p, f.root, s.port) != 0) {
        sf_stop(&s);
        fail_msg("prometheus did not become ready in 90 s: %s", sf_slurp(p.log));
    }
    /* wait for 22 scrapes of the target (about 22 s; up to 100 s on a loaded machine) */
    double deadline = sf_now() + 100, n = 0;
    char why[512];
    while (sf_now() < deadline) {
        n = query(&p, "count_over_time(jouleprint_node_energy_joules_total[1m])", why, sizeof why);
        if (n >= 22) break;
        if (isnan(n) && !isnan(query(&p, "up == 0", why, sizeof why))) {
            char *resp;
            const char *body;
            sf_get(p.port, "/api/v1/targets", NULL, &resp, &body);
            fail_msg("prometheus cannot scrape jouleprint serve: %.600s", body);
        }
        sleep(1);
    }
    if (!(n >= 22)) fail_msg("prometheus kept only %g samples in 100 s", n);
    /* the target is up and was scraped in OpenMetrics */
    assert_true(must_query(&p, "up{job=\"jouleprint\"}") == 1);
    assert_true(must_query(&p, "count(jouleprint_build_info)") == 1);

    /* The powers, per second of the exporter's own sample clock: each scrape carries a counter and the
     * time of the sample it comes from, so the ratio of their rates over the same scrapes is the power
     * over those samples, whenever Prometheus scraped them. (rate() alone divides by the scrapes' own
     * times: a sample taken late on a busy machine, at a window's edge, moved it by 6.5%.) */
#define PER_SAMPLE_SECOND(q) "rate(" q "[20s]) / scalar(rate(jouleprint_last_sample_timestamp_seconds[20s]))"
    near(must_query(&p, PER_SAMPLE_SECOND("jouleprint_energy_joules_total{domain=\"package-0\"}")), 20.0, 0.05,
         "rate(package-0) W");
    near(must_query(&p, PER_SAMPLE_SECOND("jouleprint_energy_joules_total{domain=\"dram-0\"}")), 5.0, 0.05,
         "rate(dram-0) W");
    double node = must_query(&p, PER_SAMPLE_SECOND("jouleprint_node_energy_joules_total"));
    near(node, 25.0, 0.05, "rate(node) W");
    double busy = must_query(&p, PER_SAMPLE_SECOND("jouleprint_cgroup_energy_joules_total{unit=\"busy.service\"}"));
    double idle = must_query(&p, PER_SAMPLE_SECOND("jouleprint_cgroup_energy_joules_total{unit=\"idle.service\"}"));
    /* the shares of the machine's busy CPU time: 6/8 and 0.5/8 */
    near(busy / node, 0.75, 0.05, "busy.service's share");
    near(idle / node, 0.0625, 0.10, "idle.service's share");
    near(busy / idle, 12.0, 0.10, "busy/idle");
    /* carbon follows energy at the world average */
    near(must_query(&p, PER_SAMPLE_SECOND("jouleprint_carbon_grams_total")), 25.0 * 480.6 / 3.6e6, 0.05,
         "rate(carbon) g/s");
    /* the scrapes themselves were counted and timed by the exporter */
    assert_true(must_query(&p, "jouleprint_scrape_duration_seconds_count") >= 10);
    assert_true(must_query(&p, "jouleprint_http_requests_total{code=\"200\"}") >= 10);

    check_dashboard(&p);

    prom_stop(&p);
    assert_int_equal(sf_stop(&s), 0);
    sf_fake_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_prometheus_scrapes_jouleprint)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
