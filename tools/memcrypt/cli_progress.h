/* memcrypt CLI — progress on a terminal for steps over 2 s (see cli_progress.c). */
#ifndef MC_CLI_PROGRESS_H
#define MC_CLI_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct mc_cli_progress {
    bool active, stop, drawn;
    double t0, delay;
    char path[64], what[128];
    uint64_t done, total;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* Start timing a step (path: the command, what: the step in words). Draws nothing unless
 * stderr is a terminal and the step outlasts the delay. */
void mc_cli_progress_begin(struct mc_cli_progress *p, const char *path, const char *what);
/* New words (NULL: keep) and, when total > 0, a bar of done/total. */
void mc_cli_progress_set(struct mc_cli_progress *p, const char *what, uint64_t done, uint64_t total);
/* The step is over: erase the line (if drawn) and stop the thread. */
void mc_cli_progress_end(struct mc_cli_progress *p);

#endif
