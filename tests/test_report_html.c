/*
 * The HTML report rendered by a real browser: headless Chromium (Debian `chromium`, installed by
 * scripts/bootstrap) turns the report of tests/bench_fixture.h into a PNG, whose pixels must show the
 * charts in the palette's colours and the estimate banner; its DOM after the page's script ran must
 * hold the eight charts, laid out (data-charts-rendered), with their data points and tooltips, and the
 * model named <script>x</script> as text. Without Chromium the test fails and says how to install it.
 * A copy of the PNG is left at $JP_TEST_BIN_DIR/test_report_html.png for a person to look at.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench_fixture.h"
#include "report/report.h"
#include "util.h"

static char tmpdir[PATH_MAX - 64];
static char html[PATH_MAX];
static char chromium[PATH_MAX];

static bool executable(const char *p) { return access(p, X_OK) == 0; }

/* $JP_CHROMIUM, else chromium (or its other names) on the PATH. */
static bool find_chromium(void)
{
    const char *env = getenv("JP_CHROMIUM");
    if (env && *env) {
        snprintf(chromium, sizeof chromium, "%s", env);
        return executable(chromium);
    }
    const char *names[] = {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"};
    const char *path = getenv("PATH");
    char dirs[8192];
    snprintf(dirs, sizeof dirs, "%s:/usr/bin:/usr/local/bin:/snap/bin", path ? path : "");
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        char copy[8192];
        memcpy(copy, dirs, sizeof copy);
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(chromium, sizeof chromium, "%.3000s/%s", d, names[n]);
            if (executable(chromium)) return true;
        }
    }
    return false;
}

static void need_chromium(void)
{
    if (!find_chromium())
        fail_msg("chromium not found (%s): the HTML report test renders the page in headless Chromium. Install it "
                 "with scripts/bootstrap (Debian package chromium), or name the browser in JP_CHROMIUM",
                 *chromium ? chromium : "not on the PATH");
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    if (len) *len = got;
    return buf;
}

/* Runs Chromium headless on the report with the extra arguments; stdout to outfile; gives up after
 * two minutes. Returns the exit status. */
static int run_chromium(const char *outfile, const char *const *extra)
{
    char profile[PATH_MAX], url[PATH_MAX + 8], log[PATH_MAX];
    static int n;
    snprintf(profile, sizeof profile, "%s/profile-%d", tmpdir, ++n);
    snprintf(url, sizeof url, "file://%s", html);
    snprintf(log, sizeof log, "%s/chromium-%d.log", tmpdir, n);
    char udd[PATH_MAX + 32];
    snprintf(udd, sizeof udd, "--user-data-dir=%s", profile);
    const char *argv[32] = {chromium,          "--headless",       "--no-sandbox",
                            "--disable-gpu",   "--disable-quic",   "--no-first-run",
                            "--disable-background-networking",     "--disable-component-update",
                            "--disable-sync",  "--hide-scrollbars", "--disable-dev-shm-usage",
                            udd};
    int k = 12;
    for (const char *const *a = extra; *a && k < 30; a++) argv[k++] = *a;
    argv[k++] = url;
    argv[k] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* its own group, so that a hang is killed with all its helpers */
        int fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) dup2(fd, 1);
        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) dup2(fd, 2);
        setenv("HOME", tmpdir, 1);
        execv(chromium, (char *const *)argv);
        _exit(127);
    }
    int ws = 0;
    for (int waited = 0;; waited++) {
        pid_t r = waitpid(pid, &ws, WNOHANG);
        if (r == pid) break;
        if (waited > 1200) { /* 2 minutes */
            kill(-pid, SIGKILL);
            waitpid(pid, &ws, 0);
            fail_msg("chromium did not finish in 2 minutes; its log: %s", log);
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int st = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    if (st != 0) {
        char *l = slurp(log, NULL);
        print_error("chromium exited with %d; its log:\n%s\n", st, l ? l : "(none)");
        free(l);
    }
    return st;
}

struct rgb {
    int r, g, b;
};

static struct rgb hex(const char *h)
{
    unsigned v = (unsigned)strtoul(h + 1, NULL, 16);
    return (struct rgb){(int)(v >> 16) & 255, (int)(v >> 8) & 255, (int)v & 255};
}

static void test_screenshot(void **state)
{
    (void)state;
    need_chromium();
    char png[PATH_MAX], out[PATH_MAX], arg[PATH_MAX + 16];
    snprintf(png, sizeof png, "%s/report.png", tmpdir);
    snprintf(out, sizeof out, "%s/screenshot.out", tmpdir);
    snprintf(arg, sizeof arg, "--screenshot=%s", png);
    assert_int_equal(run_chromium(out, (const char *[]){arg, "--window-size=1280,2400", NULL}), 0);

    struct stat sb;
    if (stat(png, &sb) != 0) fail_msg("chromium wrote no screenshot at %s", png);
    if (sb.st_size < 60000) fail_msg("the screenshot is only %lld bytes: a blank or broken page?", (long long)sb.st_size);

    /* keep a copy beside the build for a person to look at */
    const char *bin = getenv("JP_TEST_BIN_DIR");
    if (bin && *bin) {
        char keep[PATH_MAX + 32];
        snprintf(keep, sizeof keep, "%.3000s/test_report_html.png", bin);
        size_t len;
        char *data = slurp(png, &len);
        FILE *f = fopen(keep, "wb");
        if (f && data) fwrite(data, 1, len, f);
        if (f) fclose(f);
        free(data);
    }

    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, png)) fail_msg("%s: not a PNG: %s", png, img.message);
    img.format = PNG_FORMAT_RGB;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(px);
    if (!png_image_finish_read(&img, NULL, px, 0, NULL)) fail_msg("%s: %s", png, img.message);
    assert_int_equal(img.width, 1280);
    assert_int_equal(img.height, 2400);

    /* the palette's colours, as bars and points of the charts, and the estimate banner's background */
    const struct {
        const char *name, *hex;
        long min;
    } want[] = {
        {"blue (small)", "#0072B2", 800},  {"orange (base, the pick)", "#E69F00", 8000},
        {"green (large)", "#009E73", 8000}, {"the estimate banner", "#fff3d1", 20000},
    };
    long got[4] = {0};
    size_t npx = (size_t)img.width * img.height;
    long nonwhite = 0;
    for (size_t i = 0; i < npx; i++) {
        int r = px[3 * i], g = px[3 * i + 1], b = px[3 * i + 2];
        if (r < 235 || g < 235 || b < 235) nonwhite++;
        for (size_t k = 0; k < 4; k++) {
            struct rgb c = hex(want[k].hex);
            if (abs(r - c.r) <= 3 && abs(g - c.g) <= 3 && abs(b - c.b) <= 3) got[k]++;
        }
    }
    for (size_t k = 0; k < 4; k++)
        if (got[k] < want[k].min)
            fail_msg("%s (%s): %ld pixels in the screenshot, expected at least %ld", want[k].name, want[k].hex, got[k],
                     want[k].min);
    /* text and charts, not an empty page */
    assert_true(nonwhite > (long)(npx / 50));
    free(px);
    png_image_free(&img);
}

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what)) n++;
    return n;
}

static void test_dom(void **state)
{
    (void)state;
    need_chromium();
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/dom.html", tmpdir);
    assert_int_equal(run_chromium(out, (const char *[]){"--dump-dom", NULL}), 0);
    char *dom = slurp(out, NULL);
    assert_non_null(dom);
    /* the page's script ran and found all eight charts laid out with a size */
    if (!strstr(dom, "data-charts-rendered=\"8\"")) fail_msg("the charts were not all laid out:\n%.2000s", dom);
    assert_int_equal(count(dom, "<svg class=\"chart\""), 8);
    assert_int_equal(count(dom, "data-chart=\"scatter\""), 2);
    assert_int_equal(count(dom, "data-chart=\"regions\""), 2);
    assert_int_equal(count(dom, "data-chart=\"timeline\""), 2);
    assert_non_null(strstr(dom, "data-model=\"base\" data-energy-j=\"0.0118464\" data-score=\"0.913\""));
    assert_true(count(dom, "<circle") >= 5);
    assert_int_equal(count(dom, "<polyline"), 6);
    /* tooltips: the <title>s became data-tip attributes */
    assert_non_null(strstr(dom, "data-tip=\"base (pick)"));
    assert_int_equal(count(dom, "<title>"), 1); /* the page's own title only */
    /* the script-named model is text in the DOM, and no script but ours exists */
    assert_non_null(strstr(dom, "&lt;script&gt;x&lt;/script&gt;"));
    assert_null(strstr(dom, FIX_SCRIPT_NAME));
    assert_int_equal(count(dom, "<script"), 1);
    free(dom);
}

static int setup(void **state)
{
    (void)state;
    if (fix_scratch_make(tmpdir, sizeof tmpdir, "html")) return -1;
    snprintf(html, sizeof html, "%s/report.html", tmpdir);
    struct jp_bench_run run;
    fix_build_run(&run);
    run.id = 7;
    FILE *f = fopen(html, "w");
    if (!f) return -1;
    int rc = jp_report_html(f, &run);
    fclose(f);
    jp_bench_run_clear(&run);
    return rc == JP_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return fix_scratch_remove(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_screenshot),
        cmocka_unit_test(test_dom),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
