/* Where a server's time per wake-up goes: an LD_PRELOAD shim for the
 * `--gpsd-only` bench (scripts/split/run.sh). Per process it counts the
 * returns from its wait (epoll_wait for dronetel, pselect for gpsd), the
 * wall time from each return to the next wait ("active": user code and the
 * system calls it makes), and within that the time spent in read and in
 * write/send/sendto/sendmsg/writev. Active minus those calls is user
 * space; what a wake-up costs before the return (the switch in) is in
 * neither. Each process writes one line to $SPLIT_DIR/PID at exit and
 * every 200 wake-ups (gpsd drops to nobody: the folder is world-writable).
 *
 * With $SPLIT_CYCLES set, dronetel's reads of NMEA are also appended to
 * that file, each as a 4-byte length and the bytes: the bench's own
 * cycles, for scripts/gpsd_instructions.py --cycles.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static __thread double woke = -1;
static double active, in_read, in_write, wakes, calls;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void report(void) {
    const char *dir = getenv("SPLIT_DIR");
    char path[512];
    if (!dir || wakes < 1) return;
    snprintf(path, sizeof path, "%s/%d", dir, getpid());
    FILE *o = fopen(path, "w");
    if (!o) return;
    fprintf(o, "%s pid=%d wakes=%.0f active=%.1f read=%.1f write=%.1f user=%.1f calls=%.2f (µs per wake-up)\n",
            program_invocation_name, getpid(), wakes, active / wakes * 1e6,
            in_read / wakes * 1e6, in_write / wakes * 1e6,
            (active - in_read - in_write) / wakes * 1e6, calls / wakes);
    fclose(o);
}

__attribute__((destructor)) static void at_exit(void) { report(); }

static void before_wait(void) {
    if (woke < 0) return;
    active += now() - woke;
    wakes += 1;
    if ((long)wakes % 200 == 0) report();
}

static void record(const void *buf, ssize_t n) {
    static FILE *o;
    const char *path = getenv("SPLIT_CYCLES");
    if (!path || n <= 0 || ((const char *)buf)[0] != '$') return;
    if (strncmp(program_invocation_short_name, "dronetel", 8) != 0) return;
    if (!o && !(o = fopen(path, "a"))) return;
    uint32_t len = (uint32_t)n;
    fwrite(&len, 4, 1, o);
    fwrite(buf, 1, (size_t)n, o);
    fflush(o);
}

#define NEXT(name) static __typeof__(name) *next; if (!next) next = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)
#define TIMED(acc, call) double t0 = now(); __typeof__(call) r = call; double t1 = now(); \
    if (woke >= 0) { acc += t1 - t0; calls += 1; }

ssize_t read(int fd, void *buf, size_t n) {
    NEXT(read);
    TIMED(in_read, next(fd, buf, n));
    record(buf, r);
    return r;
}
ssize_t write(int fd, const void *buf, size_t n) { NEXT(write); TIMED(in_write, next(fd, buf, n)); return r; }
ssize_t send(int fd, const void *buf, size_t n, int flags) { NEXT(send); TIMED(in_write, next(fd, buf, n, flags)); return r; }
ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t len) {
    NEXT(sendto); TIMED(in_write, next(fd, buf, n, flags, to, len)); return r;
}
ssize_t sendmsg(int fd, const struct msghdr *m, int flags) { NEXT(sendmsg); TIMED(in_write, next(fd, m, flags)); return r; }
ssize_t writev(int fd, const struct iovec *v, int c) { NEXT(writev); TIMED(in_write, next(fd, v, c)); return r; }

int epoll_wait(int ep, struct epoll_event *ev, int max, int timeout) {
    NEXT(epoll_wait);
    before_wait();
    int r = next(ep, ev, max, timeout);
    woke = now();
    return r;
}
int pselect(int n, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *t, const sigset_t *s) {
    NEXT(pselect);
    before_wait();
    int r = next(n, rd, wr, ex, t, s);
    woke = now();
    return r;
}
