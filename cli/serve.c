/*
 * jouleprint serve: a Prometheus exporter. The metrics are computed on the meter's sampling thread
 * (libjouleprint, include/jouleprint/exporter.h); this file serves them over HTTP with
 * libmicrohttpd: GET (or HEAD) /metrics and a small / page, nothing else; TLS and basic auth from a
 * web configuration file (cli/serve_web.c); bounded request size, connection count and idle time,
 * and non-blocking I/O on a small pool of threads so that a slow client holds up no other.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cli.h"
#include "jouleprint/exporter.h"
#include "serve.h"

#define DEFAULT_LISTEN "127.0.0.1:9862"
#define REQUEST_MEMORY (16 * 1024) /* request line and headers must fit (bounded request size) */

static const char help[] =
    "usage: jouleprint serve [options]\n"
    "\n"
    "A Prometheus exporter: serves the node's energy per domain, its power, its carbon, the energy of\n"
    "each cgroup (systemd services, containers, Kubernetes pods) by CPU-time share, and the exporter's\n"
    "health at /metrics, in the Prometheus text format or OpenMetrics (as the Accept header asks).\n"
    "Metrics are computed at every sample; a scrape reads the latest. Runs until SIGINT or SIGTERM.\n"
    "\n"
    "  --listen ADDR:PORT   where to listen (default " DEFAULT_LISTEN ", loopback only); other\n"
    "                       addresses must be named: 0.0.0.0:9862, [::]:9862, :9862 (all)\n"
    "  --web-config FILE    TLS and basic auth, in the format of Prometheus' exporter-toolkit\n"
    "                       (tls_server_config: cert_file, key_file; basic_auth_users: bcrypt hashes)\n"
    "  --hash-password      read a password from stdin, print its bcrypt hash for basic_auth_users\n"
    "                       (--bcrypt-cost N, default 10), and exit\n"
    "  --interval DUR       sampling interval (default 1s); power gauges are over this interval\n"
    "  --source NAME        use this energy source only (see `jouleprint sources`)\n"
    "  --region R, --year Y, --intensity G, --intensity-file F, --pue P\n"
    "                       the grid intensity and PUE for the carbon metrics (as for stat)\n"
    "  --top-cgroups N      cgroups with a series of their own (default 20, 1..1000); the rest are\n"
    "                       summed into cgroup=\"other\"\n"
    "  --no-cgroups         no per-cgroup attribution\n"
    "  --cgroup-root DIR    the cgroup v2 tree (default $JP_CGROUP_ROOT, else <JP_SYSFS_ROOT or\n"
    "                       /sys>/fs/cgroup)\n"
    "  --max-connections N  open connections at most (default 64); more wait in the listen\n"
    "                       queue until one closes\n"
    "  --client-timeout DUR close a connection idle this long (default 10s), slow clients included\n"
    "  --threads N          threads serving HTTP (default 2)\n"
    "  --cpu-idle-w W, --cpu-max-w W, --curve K, --ram-w-per-gb W, --ram-gb GB\n"
    "                       the power model's parameters (where no counter exists)\n"
    "\n"
    "Every event worth knowing (a counter that vanishes, a cgroup gone between two reads, a client\n"
    "that stalled) is one line on stderr. RAPL's energy_uj is readable by root only: see README.md,\n"
    "\"On a fleet\", for running unprivileged.\n"
    "\n"
    "examples:\n"
    "  jouleprint serve\n"
    "  jouleprint serve --listen 0.0.0.0:9862 --web-config /etc/jouleprint/web.yml --region FR\n"
    "  echo 'secret' | jouleprint serve --hash-password\n";

/* ---- the log -------------------------------------------------------------------------------------- */

/* The one piece of file-scope state left in the tool's commands, on purpose: it guards stderr, which is
 * the process's, so that the lines of the sampler's, libmicrohttpd's and this thread's logs never mix
 * (a lock owned by a server struct could not cover the callbacks libmicrohttpd and the exporter make). */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void logline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logline(const char *fmt, ...)
{
    char msg[1200], ts[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' '; /* one event, one line */
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    pthread_mutex_lock(&log_mu);
    fprintf(stderr, "%s jouleprint serve: %s\n", ts, msg);
    fflush(stderr);
    pthread_mutex_unlock(&log_mu);
}

static void exporter_log(void *arg, const char *line)
{
    (void)arg;
    logline("%s", line);
}

/* libmicrohttpd's own messages (connection limit reached, TLS handshake failures): at most one a
 * second, with a count of those held back. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
struct http_log {
    atomic_long last_sec, held; /* the second of the last line written; the lines held back since */
};

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct http_log *lg = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    long now = (long)time(NULL);
    if (atomic_exchange(&lg->last_sec, now) == now) {
        atomic_fetch_add(&lg->held, 1);
        return;
    }
    long h = atomic_exchange(&lg->held, 0);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
    if (h) logline("http: %s (and %ld more such messages in the last second)", msg, h);
    else logline("http: %s", msg);
}

/* ---- requests ------------------------------------------------------------------------------------- */

struct server {
    jp_exporter *e;
    struct serve_web web;
    struct serve_auth_cache auth_cache; /* the pairs that passed basic auth (serve_auth_check) */
    struct http_log http_log;           /* libmicrohttpd's messages, at most one line a second */
    bool auth;
    double client_timeout;
    atomic_long stalled, stalled_said_at, stalled_said;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct req {
    double t0;
    int status;
    bool scrape;
};

/* Per connection: when it opened and how many requests it completed, to tell a stalled client. */
struct conn {
    double t0;
    long completed;
};

static void add_headers(const struct server *s, struct MHD_Response *r)
{
    for (size_t i = 0; i < s->web.nheaders; i++) MHD_add_response_header(r, s->web.headers[i].name, s->web.headers[i].value);
}

static enum MHD_Result reply_text(struct server *s, struct MHD_Connection *c, struct req *rq, unsigned status,
                                  const char *type, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    add_headers(s, r);
    enum MHD_Result ok;
    if (status == MHD_HTTP_UNAUTHORIZED) ok = MHD_queue_basic_auth_fail_response(c, "jouleprint", r);
    else ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    rq->status = (int)status;
    return ok;
}

static void release_exposition(void *cls) { jp_exposition_release(cls); }

static const char index_page[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>jouleprint exporter</title></head>\n"
    "<body><h1>jouleprint exporter</h1>\n"
    "<p>The node's energy, power and carbon, and the energy of each cgroup, for Prometheus: "
    "<a href=\"metrics\">/metrics</a>.</p>\n</body></html>\n";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_size;
    struct server *s = cls;
    if (*con_cls) return MHD_NO; /* answered on the first call; nothing more is read */
    struct req *rq = calloc(1, sizeof *rq);
    if (!rq) return MHD_NO;
    rq->t0 = now_s();
    *con_cls = rq;
    bool head = !strcmp(method, MHD_HTTP_METHOD_HEAD);
    if (!head && strcmp(method, MHD_HTTP_METHOD_GET))
        return reply_text(s, c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                          "only GET and HEAD are served here\n");
    if (s->auth) {
        char *pass = NULL;
        char *user = MHD_basic_auth_get_username_password(c, &pass);
        bool ok = user && pass && serve_auth_check(&s->web, &s->auth_cache, user, pass);
        if (pass) {
            explicit_bzero(pass, strlen(pass));
            MHD_free(pass);
        }
        if (user) MHD_free(user);
        if (!ok) return reply_text(s, c, rq, MHD_HTTP_UNAUTHORIZED, "text/plain; charset=utf-8", "unauthorized\n");
    }
    if (!strcmp(url, "/"))
        return reply_text(s, c, rq, MHD_HTTP_OK, "text/html; charset=utf-8", index_page);
    if (strcmp(url, "/metrics"))
        return reply_text(s, c, rq, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", "not found: see /metrics\n");
    jp_exposition *x = jp_exporter_acquire(s->e);
    if (!x) return reply_text(s, c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", "not sampling yet\n");
    jp_exposition_format f =
        jp_exposition_negotiate(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
    size_t len;
    const char *bytes = jp_exposition_bytes(x, f, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(len, (void *)bytes, release_exposition, x);
    if (!r) {
        jp_exposition_release(x);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, jp_exposition_content_type(f));
    add_headers(s, r);
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    rq->status = MHD_HTTP_OK;
    rq->scrape = !head;
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct server *s = cls;
    struct req *rq = *con_cls;
    if (!rq) return;
    *con_cls = NULL;
    bool done = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
    jp_exporter_record_request(s->e, rq->status ? rq->status : 500, rq->scrape && done, now_s() - rq->t0);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci && ci->socket_context && done) ((struct conn *)ci->socket_context)->completed++;
    free(rq);
}

static void peer_name(struct MHD_Connection *c, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, len, "?");
    if (!ci || !ci->client_addr) return;
    char host[64], port[16];
    socklen_t sl = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (getnameinfo(ci->client_addr, sl, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(buf, len, ci->client_addr->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* A connection that closes after the idle timeout without having completed a single request was a
 * slow or stalled client: said in one line (then at most once a minute, with a count). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode code)
{
    struct server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn *cn = calloc(1, sizeof *cn);
        if (cn) cn->t0 = now_s();
        *socket_context = cn;
        return;
    }
    struct conn *cn = *socket_context;
    *socket_context = NULL;
    if (!cn) return;
    double held = now_s() - cn->t0;
    if (cn->completed == 0 && held >= s->client_timeout - 0.5) {
        long n = atomic_fetch_add(&s->stalled, 1) + 1;
        long now = (long)time(NULL);
        if (atomic_load(&s->stalled_said) == 0 || now - atomic_load(&s->stalled_said_at) >= 60) {
            atomic_store(&s->stalled_said_at, now);
            atomic_store(&s->stalled_said, n);
            char peer[96];
            peer_name(c, peer, sizeof peer);
            logline("http: closed the connection from %s after %.1f s without a complete request (a slow or stalled "
                    "client; %ld such so far); other scrapes were not held up",
                    peer, held, n);
        }
    }
    free(cn);
}

/* ---- listening ------------------------------------------------------------------------------------ */

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a)) return true;
        if (IN6_IS_ADDR_V4MAPPED(a)) return a->s6_addr[12] == 127;
    }
    return false;
}

/* Binds and listens on ADDR:PORT. Returns the socket, or -1 with one line in err. shown gets the
 * address actually bound (with the port the kernel chose for port 0). */
static int listen_on(const char *spec, char *shown, size_t shown_len, bool *loopback, char *err, size_t errlen)
{
    char host[256], port[16];
    const char *colon = strrchr(spec, ':');
    if (!colon || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port || (size_t)(colon - spec) >= sizeof host) {
        snprintf(err, errlen, "--listen %s: expected ADDR:PORT (127.0.0.1:9862, [::1]:9862, 0.0.0.0:9862, :9862)", spec);
        return -1;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    snprintf(port, sizeof port, "%s", colon + 1);
    char *end;
    long pn = strtol(port, &end, 10);
    if (*end || pn < 0 || pn > 65535 || !(port[0] >= '0' && port[0] <= '9')) {
        snprintf(err, errlen, "--listen %s: the port must be a number from 0 to 65535", spec);
        return -1;
    }
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    } else if (strchr(host, ':')) {
        snprintf(err, errlen, "--listen %s: write an IPv6 address in brackets, [::1]:9862", spec);
        return -1;
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int g = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
    if (g != 0 || !ai) {
        snprintf(err, errlen, "--listen %s: cannot resolve \"%s\": %s", spec, host, gai_strerror(g));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s: socket: %s", spec, strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s: %s%s", spec, strerror(e),
                 e == EADDRINUSE ? " (another process has this port: stop it or choose another --listen port)"
                 : e == EACCES   ? " (ports below 1024 need privileges: choose a port above 1023)"
                                 : "");
        close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[64] = "?", p[16] = "?";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, p, sizeof p, NI_NUMERICHOST | NI_NUMERICSERV);
        *loopback = is_loopback((struct sockaddr *)&ss);
    }
    snprintf(shown, shown_len, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
    return fd;
}

/* ---- the command ---------------------------------------------------------------------------------- */

static int hash_password(int cost)
{
    char line[1024];
    if (!fgets(line, sizeof line, stdin)) {
        cli_error("serve", "--hash-password: expected the password on stdin");
        return CLI_EXIT_USAGE;
    }
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n') line[--n] = '\0';
    if (n && line[n - 1] == '\r') line[--n] = '\0';
    if (n == 0 || n > 72) {
        cli_error("serve", "--hash-password: expected a password of 1 to 72 bytes (bcrypt reads no more)");
        return CLI_EXIT_USAGE;
    }
    char out[128], err[256];
    int rc = serve_hash_password(line, cost, out, sizeof out, err, sizeof err);
    explicit_bzero(line, sizeof line);
    if (rc) {
        cli_error("serve", "%s", err);
        return CLI_EXIT_FAIL;
    }
    printf("%s\n", out);
    return 0;
}

static int whole(const char *opt, const char *arg, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || errno || v < min || v > max) {
        cli_error("serve", "%s %s: expected a whole number from %ld to %ld", opt, arg, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    enum { O_LISTEN = 2000, O_WEB, O_HASH, O_COST, O_TOP, O_NOCG, O_CGROOT, O_MAXCONN, O_TIMEOUT, O_THREADS };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN},       {"web-config", required_argument, NULL, O_WEB},
        {"hash-password", no_argument, NULL, O_HASH},         {"bcrypt-cost", required_argument, NULL, O_COST},
        {"top-cgroups", required_argument, NULL, O_TOP},      {"no-cgroups", no_argument, NULL, O_NOCG},
        {"cgroup-root", required_argument, NULL, O_CGROOT},   {"max-connections", required_argument, NULL, O_MAXCONN},
        {"client-timeout", required_argument, NULL, O_TIMEOUT}, {"threads", required_argument, NULL, O_THREADS},
        CLI_CARBON_LONGOPTS,                                  {"help", no_argument, NULL, 'h'},
        CLI_METER_LONGOPTS,                                   {0, 0, 0, 0}};
    struct cli_meter_opts mo;
    cli_meter_opts_init(&mo);
    mo.cfg.interval_s = 1.0;
    jp_exporter_config cfg;
    jp_exporter_config_init(&cfg);
    struct cli_carbon_opts co;
    cli_carbon_opts_init(&co);
    const char *listen_spec = DEFAULT_LISTEN, *web_path = NULL;
    bool hash = false;
    long cost = 10, top = 20, maxconn = 64, threads = 2;
    double timeout = 10.0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case O_LISTEN: listen_spec = optarg; break;
        case O_WEB: web_path = optarg; break;
        case O_HASH: hash = true; break;
        case O_COST:
            if (whole("--bcrypt-cost", optarg, 4, 31, &cost)) return CLI_EXIT_USAGE;
            break;
        case O_TOP:
            if (whole("--top-cgroups", optarg, 1, 1000, &top)) return CLI_EXIT_USAGE;
            break;
        case O_NOCG: cfg.cgroups = false; break;
        case O_CGROOT: cfg.cgroup_root = optarg; break;
        case O_MAXCONN:
            if (whole("--max-connections", optarg, 1, 10000, &maxconn)) return CLI_EXIT_USAGE;
            break;
        case O_THREADS:
            if (whole("--threads", optarg, 1, 64, &threads)) return CLI_EXIT_USAGE;
            break;
        case O_TIMEOUT:
            if (jp_parse_duration(optarg, &timeout) != JP_OK || timeout < 1 || timeout > 3600) {
                cli_error("serve", "--client-timeout %s: expected a duration from 1s to 1h", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'h': fputs(help, stdout); return 0;
        case 1007: cli_error("serve", "--baseline does not apply to serve"); return CLI_EXIT_USAGE;
        default: {
            int r = cli_carbon_option("serve", &co, opt, optarg);
            if (r == 0) r = cli_meter_option("serve", &mo, opt, optarg);
            if (r == 1) break;
            if (r == 0) fputs(help, stderr);
            return CLI_EXIT_USAGE;
        }
        }
    }
    if (optind < argc) {
        cli_error("serve", "unexpected argument \"%s\" (jouleprint serve --help)", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (hash) return hash_password((int)cost);

    struct server srv;
    memset(&srv, 0, sizeof srv);
    srv.client_timeout = timeout;
    char err[1024];
    if (web_path) {
        if (serve_web_load(web_path, &srv.web, err, sizeof err)) {
            cli_error("serve", "web config %s", err);
            return CLI_EXIT_USAGE;
        }
        srv.auth = srv.web.nusers > 0;
        if (srv.web.tls && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            cli_error("serve", "web config %s: TLS asked for, but this libmicrohttpd was built without TLS", web_path);
            serve_web_free(&srv.web);
            return CLI_EXIT_FAIL;
        }
    }
    jp_intensity ci;
    if (cli_carbon_resolve("serve", &co, &ci)) {
        serve_web_free(&srv.web);
        return CLI_EXIT_USAGE;
    }
    char shown[128];
    bool loopback = false;
    int fd = listen_on(listen_spec, shown, sizeof shown, &loopback, err, sizeof err);
    if (fd < 0) {
        cli_error("serve", "%s", err);
        serve_web_free(&srv.web);
        return CLI_EXIT_FAIL;
    }

    /* every thread started from here on (the sampler, libmicrohttpd's) leaves these to sigwait */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    cfg.meter = mo.cfg;
    cfg.intensity = &ci;
    cfg.pue = co.pue;
    cfg.pue_source = co.pue_src;
    cfg.top_cgroups = (size_t)top;
    cfg.log = exporter_log;
    if (jp_exporter_open(&srv.e, &cfg) != JP_OK) {
        cli_error("serve", "%s", jp_last_error());
        close(fd);
        serve_web_free(&srv.web);
        return CLI_EXIT_FAIL;
    }
    if (jp_exporter_start(srv.e) != JP_OK) {
        cli_error("serve", "%s", jp_last_error());
        jp_exporter_close(srv.e);
        close(fd);
        serve_web_free(&srv.web);
        return CLI_EXIT_FAIL;
    }
    serve_auth_cache_init(&srv.auth_cache); /* used from here on, by the request threads */
    struct MHD_OptionItem opts[16];
    size_t no = 0;
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, fd, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, maxconn, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)(timeout + 0.5), NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, REQUEST_MEMORY, NULL};
    if (threads > 1) opts[no++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
    if (srv.web.tls) {
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv.web.cert_pem};
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv.web.key_pem};
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, srv.web.priorities};
    }
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (srv.web.tls ? MHD_USE_TLS : 0);
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, &srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &srv.http_log,
                         MHD_OPTION_ARRAY, opts, MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv,
                         MHD_OPTION_NOTIFY_CONNECTION, on_connection, &srv, MHD_OPTION_END);
    if (!d) {
        cli_error("serve", "cannot start the HTTP server on %s%s (see the line above)", shown,
                  srv.web.tls ? ": is the key the certificate's, and both PEM?" : "");
        jp_exporter_close(srv.e);
        close(fd);
        serve_web_free(&srv.web);
        serve_auth_cache_destroy(&srv.auth_cache);
        return CLI_EXIT_FAIL;
    }
    const jp_meter *m = jp_exporter_meter(srv.e);
    char srcs[256] = "";
    size_t off = 0;
    for (size_t i = 0; i < jp_meter_domain_count(m) && off < sizeof srcs; i++) {
        const char *sn = jp_meter_domain_source(m, i);
        if (strstr(srcs, sn)) continue;
        off += (size_t)snprintf(srcs + off, sizeof srcs - off, "%s%s", off ? ", " : "", sn);
    }
    char every[32];
    jp_format_duration(jp_meter_interval(m), every, sizeof every);
    logline("listening on %s://%s/metrics (sources: %s%s; a sample every %s; TLS %s, basic auth %s)",
            srv.web.tls ? "https" : "http", shown, srcs, jp_meter_estimated(m) ? ", estimated" : "", every,
            srv.web.tls ? "on" : "off", srv.auth ? "on" : "off");
    if (!loopback && !srv.web.tls && !srv.auth)
        logline("%s is not a loopback address and there is no --web-config: anyone who can reach it reads the metrics",
                shown);
    int sig = 0;
    sigwait(&sigs, &sig);
    logline("stopping (%s)", strsignal(sig));
    MHD_stop_daemon(d); /* closes the listening socket too */
    jp_exporter_close(srv.e);
    serve_web_free(&srv.web);
    serve_auth_cache_destroy(&srv.auth_cache);
    return 0;
}
