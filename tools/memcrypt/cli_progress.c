/* memcrypt CLI — a progress line for steps that take long (RSA key generation, big launches).
 *
 * A thread wakes up after the delay (2 s, or MEMCRYPT_PROGRESS_DELAY seconds) and then redraws
 * "memcrypt PATH: WHAT  [bar] 3 s" on stderr twice a second until the step ends, when the line
 * is erased. Nothing is drawn when stderr is not a terminal (piped, redirected, CI logs), or with
 * MEMCRYPT_PROGRESS=0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_progress.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void draw(struct mc_cli_progress *p, double elapsed)
{
    char bar[48] = "";
    if (p->total) {
        int w = 20, k = (int)((double)p->done / (double)p->total * w);
        if (k > w)
            k = w;
        snprintf(bar, sizeof bar, " [%.*s%.*s]", k, "####################", w - k, "                    ");
    }
    fprintf(stderr, "\r\033[Kmemcrypt %s: %s%s %.0f s", p->path, p->what, bar, elapsed);
    fflush(stderr);
    p->drawn = true;
}

static void *ticker(void *arg)
{
    struct mc_cli_progress *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        double el = now_s() - p->t0;
        if (el >= p->delay)
            draw(p, el);
        double wait = el >= p->delay ? 0.5 : p->delay - el;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long ns = until.tv_nsec + (long)(wait * 1e9);
        until.tv_sec += ns / 1000000000L;
        until.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&p->cv, &p->mu, &until);
    }
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void mc_cli_progress_begin(struct mc_cli_progress *p, const char *path, const char *what)
{
    memset(p, 0, sizeof *p);
    const char *env = getenv("MEMCRYPT_PROGRESS");
    if (!isatty(STDERR_FILENO) || (env && !strcmp(env, "0")))
        return;
    const char *d = getenv("MEMCRYPT_PROGRESS_DELAY");
    p->delay = d && *d ? atof(d) : 2.0;
    if (p->delay < 0)
        p->delay = 0;
    snprintf(p->path, sizeof p->path, "%s", path);
    snprintf(p->what, sizeof p->what, "%s", what);
    p->t0 = now_s();
    if (p->delay == 0)
        draw(p, 0); /* at once, not when the thread first runs */
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, ticker, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        return;
    }
    p->active = true;
}

void mc_cli_progress_set(struct mc_cli_progress *p, const char *what, uint64_t done, uint64_t total)
{
    if (!p->active)
        return;
    pthread_mutex_lock(&p->mu);
    if (what)
        snprintf(p->what, sizeof p->what, "%s", what);
    p->done = done;
    p->total = total;
    pthread_mutex_unlock(&p->mu);
}

void mc_cli_progress_end(struct mc_cli_progress *p)
{
    if (!p->active)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    p->active = false;
}
