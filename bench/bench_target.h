/* The targets a benchmark checks, one line each, so that `scripts/bench` can collect them into the
 * README's target table (scripts/bench-table). Header only.
 *
 *   bench_target("bench_core", "SEV guest 4 KiB copy / engine round trip", ratio, ">=", 0.6,
 *                "%.0f vs %.0f MB/s", copy, rt);
 *
 * prints
 *
 *   target|bench_core|SEV guest 4 KiB copy / engine round trip|1821 vs 2497 MB/s|0.73|>= 0.6|met
 *
 * `value` is what the goal is compared with (a ratio, a count, seconds); `figure` is the measured
 * numbers behind it as a reader wants to see them. A value that could not be measured (NaN, e.g.
 * the reference tool is not installed) is reported as "not measured", never as met. The '|'
 * character is replaced in the free text so the line always has seven fields. */
#ifndef MC_BENCH_TARGET_H
#define MC_BENCH_TARGET_H

#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static inline void bench_target_field(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(*s == '|' || *s == '\n' ? '/' : *s, f);
}

static inline bool bench_target_met(double value, const char *op, double goal)
{
    if (strcmp(op, ">=") == 0)
        return value >= goal;
    if (strcmp(op, "<=") == 0)
        return value <= goal;
    return false;
}

__attribute__((format(printf, 6, 7))) static inline void bench_target(const char *bench, const char *what, double value,
                                                                      const char *op, double goal, const char *figure,
                                                                      ...)
{
    char fig[256];
    va_list ap;
    va_start(ap, figure);
    vsnprintf(fig, sizeof fig, figure, ap);
    va_end(ap);
    FILE *f = stdout;
    fputs("target|", f);
    bench_target_field(f, bench);
    fputc('|', f);
    bench_target_field(f, what);
    fputc('|', f);
    bench_target_field(f, fig);
    if (isnan(value))
        fprintf(f, "|-|%s %g|not measured\n", op, goal);
    else
        fprintf(f, "|%.3g|%s %g|%s\n", value, op, goal, bench_target_met(value, op, goal) ? "met" : "NOT met");
    fflush(f);
}

#endif
