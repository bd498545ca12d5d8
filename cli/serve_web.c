/* jouleprint serve: the web configuration file (exporter-toolkit's format, read with libyaml) and
 * basic auth with bcrypt hashes (libcrypt: crypt_r, crypt_gensalt_rn). See serve.h. */
#define _GNU_SOURCE
#include "serve.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#define WEB_FILE_MAX (64 * 1024)     /* the config itself */
#define PEM_FILE_MAX (1024 * 1024)   /* a certificate chain or key */

struct wctx {
    const char *path;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
};

static int werr(const struct wctx *c, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int werr(const struct wctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n) snprintf(c->err, c->errlen, "%s:%zu: %s", c->path, n->start_mark.line + 1, msg);
    else snprintf(c->err, c->errlen, "%s: %s", c->path, msg);
    return -1;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(const struct wctx *c, int id) { return yaml_document_get_node(c->doc, id); }

/* Reads a whole small file; NULL with err on failure. */
static char *slurp(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    /* without waiting (a FIFO must not hang the start), and a regular file only */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        snprintf(err, errlen, "%s", strerror(errno));
        close(fd);
        return NULL;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        snprintf(err, errlen, "%s", buf ? "read error" : "out of memory");
        return NULL;
    }
    if (n > max) {
        free(buf);
        snprintf(err, errlen, "larger than %zu bytes", max);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* A path from the file, relative to the file's folder unless absolute. */
static int resolve_path(const struct wctx *c, const yaml_node_t *n, const char *v, char *out, size_t len)
{
    if (!*v) return werr(c, n, "expected a file name, got an empty string");
    if (v[0] == '/') {
        if ((size_t)snprintf(out, len, "%s", v) >= len) return werr(c, n, "path too long");
        return 0;
    }
    const char *slash = strrchr(c->path, '/');
    int dl = slash ? (int)(slash - c->path) : 1;
    if ((size_t)snprintf(out, len, "%.*s/%s", dl, slash ? c->path : ".", v) >= len) return werr(c, n, "path too long");
    return 0;
}

static int tls_version(const struct wctx *c, const yaml_node_t *n, int *v)
{
    static const char *const names[] = {"TLS10", "TLS11", "TLS12", "TLS13"};
    const char *s = scalar(n);
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, names[i])) {
            *v = i;
            return 0;
        }
    return werr(c, n, "expected TLS10, TLS11, TLS12 or TLS13, got \"%s\"", s ? s : "(not a string)");
}

static int parse_tls(const struct wctx *c, const yaml_node_t *map, struct serve_web *w)
{
    if (map->type != YAML_MAPPING_NODE) return werr(c, map, "tls_server_config: expected a mapping");
    const yaml_node_t *cert = NULL, *key = NULL;
    int vmin = -1, vmax = -1;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *kn = node(c, p->key), *vn = node(c, p->value);
        const char *k = scalar(kn);
        if (!k) return werr(c, kn, "tls_server_config: expected a key");
        if (!strcmp(k, "cert_file")) cert = vn;
        else if (!strcmp(k, "key_file")) key = vn;
        else if (!strcmp(k, "min_version")) {
            if (tls_version(c, vn, &vmin)) return -1;
        } else if (!strcmp(k, "max_version")) {
            if (tls_version(c, vn, &vmax)) return -1;
        } else if (!strcmp(k, "client_auth_type")) {
            const char *v = scalar(vn);
            if (!v || strcmp(v, "NoClientCert"))
                return werr(c, vn, "client_auth_type %s: client certificates are not supported by jouleprint serve "
                                   "(only NoClientCert); remove it or put a proxy in front",
                            v ? v : "(not a string)");
        } else if (!strcmp(k, "client_ca_file") || !strcmp(k, "cipher_suites") || !strcmp(k, "curve_preferences") ||
                   !strcmp(k, "prefer_server_cipher_suites") || !strcmp(k, "client_allowed_sans") ||
                   !strcmp(k, "cert") || !strcmp(k, "key")) {
            return werr(c, kn, "tls_server_config.%s is not supported by jouleprint serve; remove it (a security "
                               "setting is refused rather than ignored)",
                        k);
        } else {
            return werr(c, kn, "tls_server_config: unknown key \"%s\" (expected cert_file, key_file, min_version, "
                               "max_version)",
                        k);
        }
    }
    if (!cert || !key) return werr(c, map, "tls_server_config needs both cert_file and key_file");
    const char *cv = scalar(cert), *kv = scalar(key);
    if (!cv) return werr(c, cert, "cert_file: expected a file name");
    if (!kv) return werr(c, key, "key_file: expected a file name");
    if (resolve_path(c, cert, cv, w->cert_file, sizeof w->cert_file) || resolve_path(c, key, kv, w->key_file, sizeof w->key_file))
        return -1;
    char why[256];
    if (!(w->cert_pem = slurp(w->cert_file, PEM_FILE_MAX, NULL, why, sizeof why)))
        return werr(c, cert, "cert_file %s: %s", w->cert_file, why);
    if (!strstr(w->cert_pem, "-----BEGIN CERTIFICATE-----"))
        return werr(c, cert, "cert_file %s: expected a PEM certificate (-----BEGIN CERTIFICATE-----)", w->cert_file);
    if (!(w->key_pem = slurp(w->key_file, PEM_FILE_MAX, NULL, why, sizeof why)))
        return werr(c, key, "key_file %s: %s", w->key_file, why);
    if (!strstr(w->key_pem, "-----BEGIN") || !strstr(w->key_pem, "PRIVATE KEY-----"))
        return werr(c, key, "key_file %s: expected a PEM private key", w->key_file);
    if (vmin >= 0 && vmax >= 0 && vmin > vmax) return werr(c, map, "min_version is above max_version");
    if (vmin < 0) vmin = 2; /* exporter-toolkit's default: TLS 1.2 */
    if (vmax < 0) vmax = 3;
    static const char *const gv[] = {"VERS-TLS1.0", "VERS-TLS1.1", "VERS-TLS1.2", "VERS-TLS1.3"};
    size_t off = (size_t)snprintf(w->priorities, sizeof w->priorities, "NORMAL");
    for (int i = 0; i < 4; i++)
        if (i < vmin || i > vmax) off += (size_t)snprintf(w->priorities + off, sizeof w->priorities - off, ":-%s", gv[i]);
    w->tls = true;
    return 0;
}

static int parse_users(const struct wctx *c, const yaml_node_t *map, struct serve_web *w)
{
    if (map->type != YAML_MAPPING_NODE) return werr(c, map, "basic_auth_users: expected a mapping of user: bcrypt hash");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *kn = node(c, p->key), *vn = node(c, p->value);
        const char *u = scalar(kn), *h = scalar(vn);
        if (!u || !*u || strlen(u) >= sizeof w->users[0].name || strchr(u, ':'))
            return werr(c, kn, "basic_auth_users: a user name of 1 to 127 bytes without ':' expected");
        if (!h) return werr(c, vn, "basic_auth_users.%s: expected a bcrypt hash", u);
        if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) || h[3] != '$' ||
            crypt_checksalt(h) != CRYPT_SALT_OK)
            return werr(c, vn, "basic_auth_users.%s: expected a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters; make "
                               "one with jouleprint serve --hash-password)",
                        u);
        if (w->nusers == SERVE_MAX_USERS) return werr(c, kn, "basic_auth_users: more than %d users", SERVE_MAX_USERS);
        for (size_t i = 0; i < w->nusers; i++)
            if (!strcmp(w->users[i].name, u)) return werr(c, kn, "basic_auth_users: user %s given twice", u);
        snprintf(w->users[w->nusers].name, sizeof w->users[0].name, "%s", u);
        snprintf(w->users[w->nusers].hash, sizeof w->users[0].hash, "%s", h);
        w->nusers++;
    }
    return 0;
}

static bool header_ok(const char *s, bool value)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f) return false;
        if (!value && (ch == ':' || ch == ' ')) return false;
    }
    return true;
}

static int parse_http(const struct wctx *c, const yaml_node_t *map, struct serve_web *w)
{
    if (map->type != YAML_MAPPING_NODE) return werr(c, map, "http_server_config: expected a mapping");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *kn = node(c, p->key), *vn = node(c, p->value);
        const char *k = scalar(kn);
        if (k && !strcmp(k, "http2")) {
            const char *v = scalar(vn);
            if (!v || (strcmp(v, "true") && strcmp(v, "false")))
                return werr(c, vn, "http2: expected true or false");
            continue; /* HTTP/1.1 only: libmicrohttpd has no HTTP/2; either value serves */
        }
        if (!k || strcmp(k, "headers"))
            return werr(c, kn, "http_server_config: unknown or unsupported key \"%s\" (expected headers, http2)",
                        k ? k : "");
        if (vn->type != YAML_MAPPING_NODE) return werr(c, vn, "headers: expected a mapping of name: value");
        for (yaml_node_pair_t *q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top; q++) {
            const yaml_node_t *hn = node(c, q->key), *hv = node(c, q->value);
            const char *name = scalar(hn), *val = scalar(hv);
            if (!name || !*name || strlen(name) >= sizeof w->headers[0].name || !header_ok(name, false))
                return werr(c, hn, "headers: expected a header name (no spaces, colons or control characters)");
            if (!val || strlen(val) >= sizeof w->headers[0].value || !header_ok(val, true))
                return werr(c, hv, "headers.%s: expected a value of at most 511 bytes without control characters", name);
            if (!strcasecmp(name, "Content-Type") || !strcasecmp(name, "Content-Length") ||
                !strcasecmp(name, "WWW-Authenticate") || !strcasecmp(name, "Content-Encoding"))
                return werr(c, hn, "headers: %s is set by jouleprint serve itself", name);
            if (w->nheaders == SERVE_MAX_HEADERS) return werr(c, hn, "headers: more than %d", SERVE_MAX_HEADERS);
            snprintf(w->headers[w->nheaders].name, sizeof w->headers[0].name, "%s", name);
            snprintf(w->headers[w->nheaders].value, sizeof w->headers[0].value, "%s", val);
            w->nheaders++;
        }
    }
    return 0;
}

int serve_web_load(const char *path, struct serve_web *w, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    char why[256];
    size_t len;
    char *text = slurp(path, WEB_FILE_MAX, &len, why, sizeof why);
    if (!text) {
        snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    struct wctx c = {path, &doc, err, errlen};
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%zu: not valid YAML: %s", path, parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        free(text);
        return -1;
    }
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && root->type == YAML_SCALAR_NODE && !*scalar(root)) root = NULL;
    if (root && root->type != YAML_MAPPING_NODE) rc = werr(&c, root, "expected a mapping at the top");
    for (yaml_node_pair_t *p = root && !rc ? root->data.mapping.pairs.start : NULL; p && p < root->data.mapping.pairs.top && !rc; p++) {
        yaml_node_t *kn = node(&c, p->key), *vn = node(&c, p->value);
        const char *k = scalar(kn);
        if (k && !strcmp(k, "tls_server_config")) rc = parse_tls(&c, vn, w);
        else if (k && !strcmp(k, "basic_auth_users")) rc = parse_users(&c, vn, w);
        else if (k && !strcmp(k, "http_server_config")) rc = parse_http(&c, vn, w);
        else
            rc = werr(&c, kn, "unknown key \"%s\" (expected tls_server_config, http_server_config, basic_auth_users)",
                      k ? k : "");
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(text);
    if (rc) serve_web_free(w);
    return rc;
}

void serve_web_free(struct serve_web *w)
{
    free(w->cert_pem);
    if (w->key_pem) {
        explicit_bzero(w->key_pem, strlen(w->key_pem));
        free(w->key_pem);
    }
    w->cert_pem = w->key_pem = NULL;
}

/* ---- basic auth --------------------------------------------------------------------------------- */

static bool same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la && i < lb; i++) d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

void serve_auth_cache_init(struct serve_auth_cache *c)
{
    memset(c->e, 0, sizeof c->e);
    c->next = 0;
    pthread_mutex_init(&c->mu, NULL);
}

void serve_auth_cache_destroy(struct serve_auth_cache *c)
{
    explicit_bzero(c->e, sizeof c->e);
    pthread_mutex_destroy(&c->mu);
}

bool serve_auth_check(const struct serve_web *w, struct serve_auth_cache *cache, const char *user, const char *password)
{
    if (!user || !password || strlen(user) >= 128 || strlen(password) >= 256) return false;
    const char *hash = NULL;
    for (size_t i = 0; i < w->nusers; i++)
        if (!strcmp(w->users[i].name, user)) hash = w->users[i].hash;
    bool hit = false;
    pthread_mutex_lock(&cache->mu);
    for (size_t i = 0; i < SERVE_AUTH_CACHE; i++)
        if (cache->e[i].used) {
            bool u = same(cache->e[i].user, user), pw = same(cache->e[i].pass, password);
            if (u && pw) hit = true;
        }
    pthread_mutex_unlock(&cache->mu);
    if (hit && hash) return true;
    if (w->nusers == 0) return false;
    /* an unknown user costs a bcrypt against the first user's hash, so that it takes as long */
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd) return false;
    const char *out = crypt_r(password, hash ? hash : w->users[0].hash, cd);
    bool ok = hash && out && out[0] != '*' && same(out, hash);
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    if (ok) {
        pthread_mutex_lock(&cache->mu);
        snprintf(cache->e[cache->next].user, sizeof cache->e[0].user, "%s", user);
        snprintf(cache->e[cache->next].pass, sizeof cache->e[0].pass, "%s", password);
        cache->e[cache->next].used = true;
        cache->next = (cache->next + 1) % SERVE_AUTH_CACHE;
        pthread_mutex_unlock(&cache->mu);
    }
    return ok;
}

int serve_hash_password(const char *password, int cost, char *out, size_t len, char *err, size_t errlen)
{
    if (cost < 4 || cost > 31) {
        snprintf(err, errlen, "bcrypt cost %d: expected 4 to 31", cost);
        return -1;
    }
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!crypt_gensalt_rn("$2b$", (unsigned long)cost, NULL, 0, salt, sizeof salt)) {
        snprintf(err, errlen, "cannot make a bcrypt salt: %s", strerror(errno));
        return -1;
    }
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *h = crypt_r(password, salt, cd);
    int rc = 0;
    if (!h || h[0] == '*' || strlen(h) >= len) {
        snprintf(err, errlen, "bcrypt failed: %s", strerror(errno));
        rc = -1;
    } else {
        snprintf(out, len, "%s", h);
    }
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    return rc;
}
