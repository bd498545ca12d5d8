/*
 * A program outside the project using the three libraries through their installed headers and
 * `pkg-config --cflags --libs jouleprint-bench` (which brings the other two): tests/check_install.sh.
 */
#include <jouleprint.h>
#include <jouleprint/bench.h>
#include <jouleprint/workloads.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    const jp_ocr_model *om = jp_ocr_model_at(0);
    enum jp_report_format f;
    if (!om || jp_report_format_parse("md", &f) != JP_OK || strcmp(jp_report_format_name(f), "md") != 0) {
        printf("FAIL %s\n", jp_last_error());
        return 1;
    }
    jp_ocr_counts c;
    memset(&c, 0, sizeof c);
    jp_ocr_score("the cat sat", "the cat sat", &c);
    struct jp_bench_run run;
    memset(&run, 0, sizeof run);
    jp_bench_run_clear(&run);
    printf("ocr model %s, label 9 %s, recall %.2f, report %s\n", om->name, jp_classify_label_name(9),
           jp_ocr_recall(&c), jp_report_format_name(f));
    return 0;
}
