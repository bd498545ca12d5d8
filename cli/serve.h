/* jouleprint serve: the web configuration file (cli/serve_web.c) and basic auth. */
#ifndef JP_CLI_SERVE_H
#define JP_CLI_SERVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define SERVE_MAX_USERS 64
#define SERVE_MAX_HEADERS 16

/* What a web configuration file says, in the format of Prometheus' exporter-toolkit:
 *
 *     tls_server_config:
 *       cert_file: server.crt        # PEM; relative paths are relative to the file's folder
 *       key_file: server.key
 *       min_version: TLS12           # TLS10 .. TLS13 (optional), max_version likewise
 *     http_server_config:
 *       headers:                     # added to every response (optional)
 *         Strict-Transport-Security: max-age=31536000
 *     basic_auth_users:
 *       alice: $2y$10$...            # bcrypt hashes (jouleprint serve --hash-password)
 *
 * Keys jouleprint does not implement (client certificates, cipher suites, curves) are refused,
 * never ignored: a security setting must not be silently dropped. */
struct serve_web {
    bool tls;
    char *cert_pem, *key_pem; /* the files' contents, NUL-terminated */
    char cert_file[4096], key_file[4096];
    char priorities[160]; /* GnuTLS priority string from min_version/max_version; "" default */
    size_t nusers;
    struct {
        char name[128];
        char hash[128];
    } users[SERVE_MAX_USERS];
    size_t nheaders;
    struct {
        char name[64];
        char value[512];
    } headers[SERVE_MAX_HEADERS];
};

/* Loads path into w. On error returns -1 with one line in err ("FILE:LINE: what was expected"). */
int serve_web_load(const char *path, struct serve_web *w, char *err, size_t errlen);
void serve_web_free(struct serve_web *w);

/* The user and password pairs that passed (at most SERVE_AUTH_CACHE, the oldest replaced), so that a
 * scraper with the right password does not pay a bcrypt every scrape. Owned by the server, shared by
 * its threads under its mutex; cleared (and the passwords wiped) by serve_auth_cache_destroy. */
#define SERVE_AUTH_CACHE 16
struct serve_auth_cache {
    pthread_mutex_t mu;
    struct {
        char user[128];
        char pass[256];
        bool used;
    } e[SERVE_AUTH_CACHE];
    size_t next;
};
void serve_auth_cache_init(struct serve_auth_cache *c);
void serve_auth_cache_destroy(struct serve_auth_cache *c);

/* Whether password is user's, checked against the bcrypt hash with libcrypt (constant-time compare
 * of the result). Unknown users cost one bcrypt too, so that timing does not tell which names
 * exist. Successful pairs are remembered in cache. Thread-safe. */
bool serve_auth_check(const struct serve_web *w, struct serve_auth_cache *cache, const char *user, const char *password);
/* A bcrypt hash of password at cost (4..31) into out; -1 with err on failure. */
int serve_hash_password(const char *password, int cost, char *out, size_t len, char *err, size_t errlen);

#endif
