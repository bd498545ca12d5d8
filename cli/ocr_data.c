/* jouleprint ocr-data: render the OCR data set (text lines as PNG, ground truth beside each). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "jouleprint/workloads.h"

static const char help[] =
    "usage: jouleprint ocr-data [--n N] [--seed S] -o DIR\n"
    "\n"
    "Renders text lines with FreeType into PNG images for `jouleprint ocr`, two splits of N lines:\n"
    "  clean  26-40 px text, ink 0-40 on paper 215-255, no blur, noise of at most 3 grey levels\n"
    "  hard   15-22 px text, contrast 60-120 grey levels, Gaussian blur (sigma 0.5-1.3 px) and noise\n"
    "         (sd 4-10 grey levels)\n"
    "in twelve fonts (DejaVu, Liberation, FreeFont: sans, serif, mono, bold, one italic in hard).\n"
    "The sentences are drawn from the word list data/ocr/words.txt. Everything comes from the seed:\n"
    "the same seed gives the same bytes.\n"
    "\n"
    "Writes DIR/clean/000000.png with DIR/clean/000000.gt.txt (the text) beside it, the same under\n"
    "DIR/hard/, and DIR/manifest.tsv (split, file, font, size_px, ink, paper, blur, noise, text).\n"
    "\n"
    "  -n, --n N          lines per split (default 100)\n"
    "  -s, --seed S       seed, a whole number (default 1)\n"
    "  -o, --output DIR   the folder to write (created if needed)\n"
    "      --json         print a summary as JSON (keys: dir, seed, lines_per_split, images, seconds)\n"
    "\n"
    "examples:\n"
    "  jouleprint ocr-data --n 200 --seed 7 -o ocr-set\n"
    "  jouleprint ocr --model eng-best --data ocr-set\n";

int cmd_ocr_data(int argc, char **argv)
{
    static const struct option longopts[] = {{"n", required_argument, NULL, 'n'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0, 0, 0, 0}};
    long n = 100;
    unsigned long long seed = 1;
    const char *dir = NULL;
    int json = 0, opt;
    optind = 1;
    while ((opt = cli_getopt("ocr-data", argc, argv, "n:s:o:h", longopts)) != -1) {
        char *end;
        switch (opt) {
        case 'n':
            errno = 0;
            n = strtol(optarg, &end, 10);
            if (end == optarg || *end || errno || n < 1 || n > 1000000) {
                cli_error("ocr-data", "--n %s: expected a whole number from 1 to 1000000", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 's':
            errno = 0;
            seed = strtoull(optarg, &end, 10);
            if (end == optarg || *end || errno || optarg[0] == '-') {
                cli_error("ocr-data", "--seed %s: expected a whole number from 0 to 18446744073709551615", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'o': dir = optarg; break;
        case 'j': json = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("ocr-data", "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (!dir) {
        cli_error("ocr-data", "no output folder: jouleprint ocr-data --n N --seed S -o DIR");
        return CLI_EXIT_USAGE;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (jp_ocr_data_write(dir, (size_t)n, (uint64_t)seed) != JP_OK) {
        cli_error("ocr-data", "%s", jp_last_error());
        return CLI_EXIT_FAIL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (json) {
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:[s,s], s:f}", "dir", dir, "seed", (json_int_t)seed,
                              "lines_per_split", (json_int_t)n, "images", (json_int_t)(2 * n), "splits", "clean",
                              "hard", "seconds", secs);
        json_dumpf(o, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(o);
    } else {
        char d[32];
        jp_format_duration(secs, d, sizeof d);
        printf("wrote %ld images (%ld clean, %ld hard) to %s in %s, seed %llu\n"
               "ground truth beside each (.gt.txt); manifest.tsv lists every line's text and style\n",
               2 * n, n, n, dir, d, seed);
    }
    return 0;
}
